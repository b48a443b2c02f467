import CHDF5
#if canImport(Glibc)
import Glibc
#endif

// Every HDF5 call of the project goes through this file. Debian's libhdf5 is the serial build, which is not
// thread-safe, so all calls run under one process-wide lock; HDF5's habit of printing its error stack to stderr
// is switched off, and failures become HarmonyError.fileFormat naming the file and the object path.
// Objects are opened by path for each read and closed at once, so no handle outlives a call.

// HDF5's H5P_DEFAULT and H5S_ALL (property list and dataspace "default/all", both 0) and H5T_VARIABLE (size
// of variable-length strings) as Swift values.
let h5Default: hid_t = 0
let h5All: hid_t = 0
let h5Variable = Int(bitPattern: UInt.max)

/// Serializes calls into HDF5 and initializes the library once.
enum HDF5Library {
    private final class Lock: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        init() { pthread_mutex_init(&mutex, nil) }
    }
    private static let lock = Lock()
    private static let ready: Bool = {
        H5open()
        H5Eset_auto2(0, nil, nil)   // 0 = H5E_DEFAULT: no error stacks on stderr
        return true
    }()

    /// The text of a NUL-terminated name HDF5 wrote into `chars` (UTF-8; stops at the array's end without a NUL).
    static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs `body` holding the HDF5 lock.
    static func run<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&lock.mutex)
        defer { pthread_mutex_unlock(&lock.mutex) }
        _ = ready
        return try body()
    }
}

/// An HDF5 file opened for reading (AnnData `.h5ad`, 10x Genomics `.h5`).
public final class HDF5File: Sendable {
    /// The path, for messages.
    public let path: String
    fileprivate let id: hid_t

    /// Opens `path` read-only.
    /// - Throws: `HarmonyError.io` when the file is missing, `.fileFormat` when it is not a readable HDF5 file.
    public init(reading path: String) throws {
        guard access(path, R_OK) == 0 else {
            throw HarmonyError.io("\(path): cannot open for reading: \(String(cString: strerror(errno)))")
        }
        let id = HDF5Library.run { H5Fopen(path, chdf5_read_only(), h5Default) }
        guard id >= 0 else {
            throw HarmonyError.fileFormat("\(path): not a readable HDF5 file (truncated, damaged or another format)")
        }
        self.path = path
        self.id = id
    }

    deinit { _ = HDF5Library.run { H5Fclose(id) } }

    /// The root group.
    public var root: HDF5Group { HDF5Group(file: self, path: "/") }

    func failure(_ object: String, _ what: String) -> HarmonyError {
        .fileFormat("\(path), \(object): \(what)")
    }
}

/// What an object path names.
public enum HDF5ObjectKind: Sendable { case group, dataset }

/// Members shared by groups and datasets: a path in a file, and its attributes.
public protocol HDF5Object: Sendable {
    /// The file.
    var file: HDF5File { get }
    /// The object's absolute path in the file.
    var path: String { get }
}

/// The element class of a dataset or attribute.
public enum HDF5ElementClass: Sendable { case integer, float, string, boolean, other }

extension HDF5Object {
    /// Whether the object has an attribute `name`.
    public func hasAttribute(_ name: String) -> Bool {
        HDF5Library.run { H5Aexists_by_name(file.id, path, name, h5Default) > 0 }
    }

    /// A string attribute (scalar or the first of an array), or nil when absent.
    public func stringAttribute(_ name: String) throws -> String? {
        try stringsAttribute(name)?.first
    }

    /// A string attribute as an array (a scalar gives one element), or nil when absent.
    public func stringsAttribute(_ name: String) throws -> [String]? {
        try withAttribute(name) { attribute, type in
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            let count = Int(H5Sget_simple_extent_npoints(space))
            if count == 0 { return [] }
            guard H5Tget_class(type) == H5T_STRING else {
                throw file.failure(path, "attribute '\(name)' is not text")
            }
            return try readHDF5Strings(count: count, fileType: type, object: "\(file.path), \(path) attribute '\(name)'") {
                H5Aread(attribute, $0, $1)
            }
        }
    }

    /// An integer attribute as an array (a scalar gives one element), or nil when absent.
    public func integersAttribute(_ name: String) throws -> [Int]? {
        try withAttribute(name) { attribute, type in
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            let count = Int(H5Sget_simple_extent_npoints(space))
            let cls = H5Tget_class(type)
            guard cls == H5T_INTEGER || cls == H5T_FLOAT || count == 0 else {
                throw file.failure(path, "attribute '\(name)' is not numeric")
            }
            var values = [Int64](repeating: 0, count: count)
            guard count == 0 || values.withUnsafeMutableBytes({ H5Aread(attribute, chdf5_native_int64(), $0.baseAddress) }) >= 0 else {
                throw file.failure(path, "cannot read attribute '\(name)'")
            }
            return values.map { Int($0) }
        }
    }

    private func withAttribute<T>(_ name: String, _ body: (hid_t, hid_t) throws -> T) throws -> T? {
        try HDF5Library.run {
            guard H5Aexists_by_name(file.id, path, name, h5Default) > 0 else { return nil }
            let attribute = H5Aopen_by_name(file.id, path, name, h5Default, h5Default)
            guard attribute >= 0 else { throw file.failure(path, "cannot open attribute '\(name)'") }
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            defer { H5Tclose(type) }
            return try body(attribute, type)
        }
    }
}

/// Reads `count` strings stored with `fileType` (variable-length or fixed-size) through `read(memoryType, buffer)`.
/// Must run under the HDF5 lock. Invalid UTF-8 is repaired rather than refused.
private func readHDF5Strings(count: Int, fileType: hid_t, object: String,
                         read: (hid_t, UnsafeMutableRawPointer?) -> herr_t) throws -> [String] {
    let memoryType = H5Tcopy(chdf5_c_string())
    defer { H5Tclose(memoryType) }
    H5Tset_cset(memoryType, H5Tget_cset(fileType))
    if H5Tis_variable_str(fileType) > 0 {
        H5Tset_size(memoryType, h5Variable)
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        let rc = pointers.withUnsafeMutableBytes { read(memoryType, $0.baseAddress) }
        guard rc >= 0 else { throw HarmonyError.fileFormat("\(object): cannot read its strings") }
        let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
        var dims = [hsize_t(count)]
        let space = H5Screate_simple(1, &dims, nil)
        pointers.withUnsafeMutableBytes { _ = chdf5_reclaim(memoryType, space, $0.baseAddress) }
        H5Sclose(space)
        return strings
    }
    let width = H5Tget_size(fileType)
    H5Tset_size(memoryType, width)
    H5Tset_strpad(memoryType, H5T_STR_NULLPAD)
    var bytes = [UInt8](repeating: 0, count: count * width)
    let rc = bytes.withUnsafeMutableBytes { read(memoryType, $0.baseAddress) }
    guard rc >= 0 else { throw HarmonyError.fileFormat("\(object): cannot read its strings") }
    return (0..<count).map { i in
        let slice = bytes[(i * width)..<((i + 1) * width)]
        let end = slice.firstIndex(of: 0) ?? slice.endIndex
        return String(decoding: slice[slice.startIndex..<end], as: UTF8.self)
    }
}

/// A group of an HDF5 file.
public struct HDF5Group: HDF5Object {
    public let file: HDF5File
    public let path: String

    /// The absolute path of member `name` (which may itself hold slashes).
    public func childPath(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    /// What member `name` is, or nil when there is none (every component of a nested name is checked).
    public func kind(of name: String) -> HDF5ObjectKind? {
        let full = childPath(name)
        return HDF5Library.run {
            var prefix = ""
            for component in full.split(separator: "/") {
                prefix += "/" + component
                guard H5Lexists(file.id, prefix, h5Default) > 0 else { return nil }
            }
            let object = H5Oopen(file.id, full, h5Default)
            guard object >= 0 else { return nil }
            defer { H5Oclose(object) }
            switch H5Iget_type(object) {
            case H5I_GROUP: return .group
            case H5I_DATASET: return .dataset
            default: return nil
            }
        }
    }

    /// Member group `name`.
    /// - Throws: `.fileFormat` naming the file and path when it is missing or not a group.
    public func group(_ name: String) throws -> HDF5Group {
        guard kind(of: name) == .group else { throw file.failure(childPath(name), "no such group") }
        return HDF5Group(file: file, path: childPath(name))
    }

    /// Member dataset `name`, with its shape and element class.
    /// - Throws: `.fileFormat` naming the file and path when it is missing or not a dataset.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        guard kind(of: name) == .dataset else { throw file.failure(childPath(name), "no such dataset") }
        return try HDF5Dataset(file: file, path: childPath(name))
    }

    /// Names of the group's members, in name order.
    public func memberNames() throws -> [String] {
        try HDF5Library.run {
            let group = H5Gopen2(file.id, path, h5Default)
            guard group >= 0 else { throw file.failure(path, "cannot open the group") }
            defer { H5Gclose(group) }
            var info = H5G_info_t()
            guard H5Gget_info(group, &info) >= 0 else { throw file.failure(path, "cannot list the group") }
            return (0..<Int(info.nlinks)).map { i in
                let size = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), nil, 0, h5Default)
                var name = [CChar](repeating: 0, count: max(0, size) + 1)
                _ = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), &name, name.count, h5Default)
                return HDF5Library.text(name)
            }
        }
    }
}

/// A dataset of an HDF5 file: its shape and element class, and reads of whole arrays or of row ranges.
///
/// Numbers are converted by HDF5 to the requested type while reading (int8..int64, uint, float32/64); booleans
/// (h5py stores them as an 8-bit enum) read as integers 0/1.
public struct HDF5Dataset: HDF5Object {
    public let file: HDF5File
    public let path: String
    /// Dimensions (empty for a scalar).
    public let shape: [Int]
    /// What the elements are.
    public let elementClass: HDF5ElementClass

    init(file: HDF5File, path: String) throws {
        self.file = file
        self.path = path
        (shape, elementClass) = try HDF5Library.run {
            let dataset = H5Dopen2(file.id, path, h5Default)
            guard dataset >= 0 else { throw file.failure(path, "cannot open the dataset") }
            defer { H5Dclose(dataset) }
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            let rank = Int(H5Sget_simple_extent_ndims(space))
            var dims = [hsize_t](repeating: 0, count: max(rank, 0))
            if rank > 0 { H5Sget_simple_extent_dims(space, &dims, nil) }
            let type = H5Dget_type(dataset)
            defer { H5Tclose(type) }
            let cls: HDF5ElementClass
            switch H5Tget_class(type) {
            case H5T_INTEGER: cls = .integer
            case H5T_FLOAT: cls = .float
            case H5T_STRING: cls = .string
            case H5T_ENUM: cls = H5Tget_size(type) == 1 ? .boolean : .other
            default: cls = .other
            }
            return (dims.map { Int($0) }, cls)
        }
    }

    /// Number of elements along the first dimension (1 for a scalar).
    public var length: Int { shape.first ?? 1 }

    /// Elements `range` of the first dimension (all of them when nil) as Float, row-major over the other dimensions.
    public func readFloats(_ range: Range<Int>? = nil) throws -> [Float] {
        try read(range, as: Float.self, memoryType: chdf5_native_float())
    }

    /// Elements `range` of the first dimension as Double.
    public func readDoubles(_ range: Range<Int>? = nil) throws -> [Double] {
        try read(range, as: Double.self, memoryType: chdf5_native_double())
    }

    /// Elements `range` of the first dimension as Int32 (for gene indices, which are below 2^31).
    public func readInt32s(_ range: Range<Int>? = nil) throws -> [Int32] {
        try read(range, as: Int32.self, memoryType: chdf5_native_int32())
    }

    /// Elements `range` of the first dimension as Int64.
    public func readInt64s(_ range: Range<Int>? = nil) throws -> [Int64] {
        try read(range, as: Int64.self, memoryType: chdf5_native_int64())
    }

    /// All elements as strings (variable-length or fixed-size text).
    public func readStrings() throws -> [String] {
        guard elementClass == .string else { throw file.failure(path, "expected text, found numbers") }
        return try HDF5Library.run {
            let dataset = try open()
            defer { H5Dclose(dataset) }
            let type = H5Dget_type(dataset)
            defer { H5Tclose(type) }
            let count = shape.reduce(1, *)
            if count == 0 { return [] }
            return try readHDF5Strings(count: count, fileType: type, object: "\(file.path), \(path)") {
                H5Dread(dataset, $0, h5All, h5All, h5Default, $1)
            }
        }
    }

    private func read<T: Numeric>(_ range: Range<Int>?, as: T.Type, memoryType: hid_t) throws -> [T] {
        guard elementClass == .integer || elementClass == .float || elementClass == .boolean else {
            throw file.failure(path, "expected numbers, found \(elementClass == .string ? "text" : "another type")")
        }
        let rows = range ?? 0..<length
        guard rows.lowerBound >= 0, rows.upperBound <= length else {
            throw file.failure(path, "rows \(rows.lowerBound)..<\(rows.upperBound) are outside its \(length) rows")
        }
        let inner = shape.dropFirst().reduce(1, *)
        var values = [T](repeating: 0, count: rows.count * inner)
        if values.isEmpty { return values }
        try HDF5Library.run {
            let dataset = try open()
            defer { H5Dclose(dataset) }
            // Booleans are stored as an enum, which HDF5 does not convert to numbers: read the raw 8-bit codes.
            let boolean = elementClass == .boolean
            let readType = boolean ? chdf5_native_int8() : memoryType
            var codes = [Int8](repeating: 0, count: boolean ? values.count : 0)
            let fileSpace = H5Dget_space(dataset)
            defer { H5Sclose(fileSpace) }
            var rc: herr_t
            if shape.isEmpty {
                rc = boolean ? codes.withUnsafeMutableBytes { H5Dread(dataset, readType, h5All, h5All, h5Default, $0.baseAddress) }
                             : values.withUnsafeMutableBytes { H5Dread(dataset, readType, h5All, h5All, h5Default, $0.baseAddress) }
            } else {
                var start = [hsize_t](repeating: 0, count: shape.count)
                var count = shape.map { hsize_t($0) }
                start[0] = hsize_t(rows.lowerBound)
                count[0] = hsize_t(rows.count)
                H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil)
                let memorySpace = H5Screate_simple(Int32(shape.count), count, nil)
                defer { H5Sclose(memorySpace) }
                if boolean {
                    rc = readEnumCodes(dataset, codes: &codes, memorySpace: memorySpace, fileSpace: fileSpace)
                } else {
                    rc = values.withUnsafeMutableBytes { H5Dread(dataset, readType, memorySpace, fileSpace, h5Default, $0.baseAddress) }
                }
            }
            guard rc >= 0 else { throw readFailure(dataset) }
            if boolean { for i in codes.indices { values[i] = codes[i] != 0 ? 1 : 0 } }
        }
        return values
    }

    /// Reads an enum dataset's raw 8-bit codes: the memory type is the file's enum type in native order, so no
    /// conversion is asked of HDF5.
    private func readEnumCodes(_ dataset: hid_t, codes: inout [Int8], memorySpace: hid_t, fileSpace: hid_t) -> herr_t {
        let fileType = H5Dget_type(dataset)
        defer { H5Tclose(fileType) }
        let nativeType = H5Tget_native_type(fileType, H5T_DIR_DEFAULT)
        defer { H5Tclose(nativeType) }
        return codes.withUnsafeMutableBytes { H5Dread(dataset, nativeType, memorySpace, fileSpace, h5Default, $0.baseAddress) }
    }

    /// Opens the dataset; must run under the HDF5 lock.
    private func open() throws -> hid_t {
        let dataset = H5Dopen2(file.id, path, h5Default)
        guard dataset >= 0 else { throw file.failure(path, "cannot open the dataset") }
        return dataset
    }

    /// Why a read failed: a compression filter this build lacks (lzf, from h5py), or damaged data.
    private func readFailure(_ dataset: hid_t) -> HarmonyError {
        let plist = H5Dget_create_plist(dataset)
        defer { H5Pclose(plist) }
        for i in 0..<max(0, H5Pget_nfilters(plist)) {
            var flags: UInt32 = 0, valueCount = 0, config: UInt32 = 0
            var name = [CChar](repeating: 0, count: 64)
            let filter = H5Pget_filter2(plist, UInt32(i), &flags, &valueCount, nil, name.count, &name, &config)
            if filter == 32000 {
                return file.failure(path, "compressed with lzf, which this build cannot read; rewrite with "
                                    + "`adata.write_h5ad(path, compression='gzip')`")
            }
            if H5Zfilter_avail(filter) <= 0 {
                return file.failure(path, "compressed with filter \(filter) (\(HDF5Library.text(name))), which this "
                                    + "build cannot read; rewrite it with gzip compression")
            }
        }
        return file.failure(path, "cannot read its data (the file may be truncated or damaged)")
    }
}

/// An HDF5 file for writing. Built in memory (HDF5's core driver, no backing file) and returned as bytes, so that it
/// can be committed with the command's other outputs by `AtomicFileGroup`; or, for outputs too large to hold,
/// streamed to a temporary file next to the destination and published (fsync, rename) when finished.
/// Strings are variable-length UTF-8 (what h5py and anndata write and read back as `str`).
final class HDF5Writer {
    /// The destination, for messages.
    let path: String
    private let id: hid_t
    /// The temporary file of a streamed writer; nil for one in memory.
    private let temporary: String?
    private var isOpen = true

    /// An empty file in memory that will be written to `path`.
    init(reportingAs path: String) throws {
        self.path = path
        temporary = nil
        id = try HDF5Library.run {
            let access = H5Pcreate(chdf5_file_access())
            defer { H5Pclose(access) }
            H5Pset_fapl_core(access, 1 << 20, false)
            let id = H5Fcreate("\(path).in-memory", chdf5_truncate(), h5Default, access)
            guard id >= 0 else { throw HarmonyError.io("\(path): cannot create an HDF5 file in memory") }
            return id
        }
    }

    /// An empty file on disk that `publish()` moves to `path`; until then nothing exists at `path`.
    init(streamingTo path: String) throws {
        self.path = path
        let (fd, temp) = try AtomicFileGroup.createTemporary(for: path)
        // HDF5 opens the file by name (and truncates it); the descriptor only reserved the unique name.
        close(fd)
        temporary = temp
        id = try HDF5Library.run {
            let id = H5Fcreate(temp, chdf5_truncate(), h5Default, h5Default)
            guard id >= 0 else {
                unlink(temp)
                throw HarmonyError.io("\(path): cannot create the output file")
            }
            return id
        }
    }

    deinit {
        if isOpen { _ = HDF5Library.run { H5Fclose(id) } }
        if let temporary { unlink(temporary) }
    }

    private func failure(_ object: String) -> HarmonyError { .io("\(path), \(object): cannot write") }

    /// Closes a streamed file and moves it into place (fsync, rename).
    func publish() throws {
        guard let temporary, isOpen else { throw failure("/") }
        isOpen = false
        guard HDF5Library.run({ H5Fclose(id) }) >= 0 else { throw failure("/") }
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("/") }
        try AtomicFileGroup.publish(fd, temporary: temporary, as: path)
    }

    /// Creates group `object` (its parent must exist).
    func createGroup(_ object: String) throws {
        try HDF5Library.run {
            let group = H5Gcreate2(id, object, h5Default, h5Default, h5Default)
            guard group >= 0 else { throw failure(object) }
            H5Gclose(group)
        }
    }

    /// Writes a 1-D (or, with `columns`, 2-D row-major; with `scalar`, a scalar of the one value) dataset of
    /// Float, Double, Int64, Int32 or Int8.
    func write<T: Numeric>(_ values: [T], to object: String, columns: Int? = nil, scalar: Bool = false) throws {
        let type = try nativeType(T.self, object)
        let dims = scalar ? [] : columns.map { [values.count / max($0, 1), $0] } ?? [values.count]
        try HDF5Library.run {
            try values.withUnsafeBytes { try writeDataset(object, type: type, dims: dims, bytes: $0.baseAddress) }
        }
    }

    /// Creates an empty 1-D dataset of `T` that `append(_:to:)` grows, stored in chunks of `chunk` elements.
    func createGrowing<T: Numeric>(_ object: String, of _: T.Type, chunk: Int = 1 << 18) throws {
        let type = try nativeType(T.self, object)
        try HDF5Library.run {
            var extent: [hsize_t] = [0], limit: [hsize_t] = [hsize_t.max], chunkExtent = [hsize_t(chunk)]
            let space = H5Screate_simple(1, &extent, &limit)
            defer { H5Sclose(space) }
            let layout = H5Pcreate(chdf5_dataset_create())
            defer { H5Pclose(layout) }
            H5Pset_chunk(layout, 1, &chunkExtent)
            let dataset = H5Dcreate2(id, object, type, space, h5Default, layout, h5Default)
            guard dataset >= 0 else { throw failure(object) }
            H5Dclose(dataset)
        }
    }

    /// Appends `values` to a dataset made by `createGrowing`.
    func append<T: Numeric>(_ values: [T], to object: String) throws {
        guard !values.isEmpty else { return }
        let type = try nativeType(T.self, object)
        try HDF5Library.run {
            let dataset = H5Dopen2(id, object, h5Default)
            guard dataset >= 0 else { throw failure(object) }
            defer { H5Dclose(dataset) }
            var start: [hsize_t] = [0], count = [hsize_t(values.count)]
            let before = H5Dget_space(dataset)
            H5Sget_simple_extent_dims(before, &start, nil)
            H5Sclose(before)
            var size = [start[0] + count[0]]
            guard H5Dset_extent(dataset, &size) >= 0 else { throw failure(object) }
            let target = H5Dget_space(dataset)
            defer { H5Sclose(target) }
            let source = H5Screate_simple(1, &count, nil)
            defer { H5Sclose(source) }
            guard H5Sselect_hyperslab(target, H5S_SELECT_SET, &start, nil, &count, nil) >= 0,
                  values.withUnsafeBytes({ H5Dwrite(dataset, type, source, target, h5Default, $0.baseAddress) }) >= 0
            else { throw failure(object) }
        }
    }

    private func nativeType<T>(_: T.Type, _ object: String) throws -> hid_t {
        switch T.self {
        case is Float.Type: return chdf5_native_float()
        case is Double.Type: return chdf5_native_double()
        case is Int64.Type: return chdf5_native_int64()
        case is Int32.Type: return chdf5_native_int32()
        case is Int8.Type: return chdf5_native_int8()
        default: throw HarmonyError.io("\(path), \(object): unsupported element type \(T.self)")
        }
    }

    /// Writes a 1-D dataset of strings, or a scalar string dataset when `scalar`.
    func write(strings: [String], to object: String, scalar: Bool = false) throws {
        try HDF5Library.run {
            let type = stringType()
            defer { H5Tclose(type) }
            try withCStrings(strings) { pointers in
                try writeDataset(object, type: type, dims: scalar ? [] : [strings.count], bytes: pointers)
            }
        }
    }

    /// Sets a string attribute (scalar, or a 1-D array with `array`, even of one or no elements).
    func setAttribute(_ name: String, on object: String, strings: [String], array: Bool = false) throws {
        try HDF5Library.run {
            let type = stringType()
            defer { H5Tclose(type) }
            try withCStrings(strings) { pointers in
                try writeAttribute(name, on: object, type: type, dims: array ? [strings.count] : nil, bytes: pointers)
            }
        }
    }

    /// Sets a string attribute.
    func setAttribute(_ name: String, on object: String, _ value: String) throws {
        try setAttribute(name, on: object, strings: [value])
    }

    /// Sets an Int64 array attribute (e.g. a sparse matrix's shape).
    func setAttribute(_ name: String, on object: String, integers: [Int64]) throws {
        try HDF5Library.run {
            try integers.withUnsafeBytes {
                try writeAttribute(name, on: object, type: chdf5_native_int64(), dims: [integers.count], bytes: $0.baseAddress)
            }
        }
    }

    /// Sets a boolean attribute, stored as h5py stores numpy booleans (an 8-bit enum FALSE = 0, TRUE = 1).
    func setAttribute(_ name: String, on object: String, flag: Bool) throws {
        try HDF5Library.run {
            let type = H5Tenum_create(chdf5_native_int8())
            defer { H5Tclose(type) }
            var no: Int8 = 0, yes: Int8 = 1
            H5Tenum_insert(type, "FALSE", &no)
            H5Tenum_insert(type, "TRUE", &yes)
            var value: Int8 = flag ? 1 : 0
            try writeAttribute(name, on: object, type: type, dims: nil, bytes: &value)
        }
    }

    /// The finished file's bytes.
    func image() throws -> [UInt8] {
        try HDF5Library.run {
            H5Fflush(id, H5F_SCOPE_GLOBAL)
            let size = H5Fget_file_image(id, nil, 0)
            guard size > 0 else { throw failure("/") }
            var bytes = [UInt8](repeating: 0, count: size)
            guard bytes.withUnsafeMutableBytes({ H5Fget_file_image(id, $0.baseAddress, size) }) == size else {
                throw failure("/")
            }
            return bytes
        }
    }

    // Helpers below run under the HDF5 lock.

    private func stringType() -> hid_t {
        let type = H5Tcopy(chdf5_c_string())
        H5Tset_size(type, h5Variable)
        H5Tset_cset(type, H5T_CSET_UTF8)
        return type
    }

    private func withCStrings<T>(_ strings: [String], _ body: (UnsafeRawPointer?) throws -> T) rethrows -> T {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return try copies.withUnsafeBytes { try body($0.baseAddress) }
    }

    private func writeDataset(_ object: String, type: hid_t, dims: [Int], bytes: UnsafeRawPointer?) throws {
        var extent = dims.map { hsize_t($0) }
        let space = dims.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(dims.count), &extent, nil)
        defer { H5Sclose(space) }
        let dataset = H5Dcreate2(id, object, type, space, h5Default, h5Default, h5Default)
        guard dataset >= 0 else { throw failure(object) }
        defer { H5Dclose(dataset) }
        guard dims.contains(0) || H5Dwrite(dataset, type, h5All, h5All, h5Default, bytes) >= 0 else { throw failure(object) }
    }

    private func writeAttribute(_ name: String, on object: String, type: hid_t, dims: [Int]?, bytes: UnsafeRawPointer?) throws {
        var extent = (dims ?? []).map { hsize_t($0) }
        let space = dims == nil ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &extent, nil)
        defer { H5Sclose(space) }
        let attribute = H5Acreate_by_name(id, object, name, type, space, h5Default, h5Default, h5Default)
        guard attribute >= 0 else { throw failure("\(object) attribute '\(name)'") }
        defer { H5Aclose(attribute) }
        guard dims?.contains(0) == true || H5Awrite(attribute, type, bytes) >= 0 else {
            throw failure("\(object) attribute '\(name)'")
        }
    }
}
