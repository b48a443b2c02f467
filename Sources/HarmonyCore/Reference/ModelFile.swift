import HarmonyProtocol

#if _endian(big)
#error("model files store little-endian IEEE-754 arrays by bulk copy; big-endian hosts are not supported")
#endif

// The binary model file (Protocols/model-format.md): a 40-byte fixed header, a section table of 24-byte
// entries, a CRC-32 of header + table, then 8-byte aligned sections with zero padding between them. Every
// byte of a valid file is covered by a checksum, the zero-padding rule or the length field, so any single-byte
// change or truncation is detected.

/// Reading and writing `ReferenceModel`s as binary model files (`.hmod`).
public enum ModelFile {
    /// The 8 magic bytes "HMOD\r\n\u{1A}\n" (a text-mode transfer or a truncated first line changes them).
    static let magic: [UInt8] = [0x48, 0x4D, 0x4F, 0x44, 0x0D, 0x0A, 0x1A, 0x0A]
    static let fixedHeaderSize = 40
    static let tableEntrySize = 24
    static let flagCompact: UInt32 = 1
    static let flagLabels: UInt32 = 2
    static let flagGenes: UInt32 = 4
    static let flagClusterSpread: UInt32 = 8
    static let flagLayout: UInt32 = 16

    /// One entry of the section table, as `harmony inspect` shows it.
    public struct SectionInfo: Sendable, Equatable {
        /// Section name, e.g. `STATISTICS`.
        public let name: String
        /// Byte offset in the file.
        public let offset: Int
        /// Length in bytes.
        public let length: Int
    }

    /// Writes `model` atomically (see `AtomicFileGroup`): a crash leaves the old file or the new one.
    public static func write(_ model: ReferenceModel, to path: String) throws {
        try AtomicFileGroup.write(encode(model), to: path)
    }

    /// Reads and fully validates a model file; any corruption is a `HarmonyError.fileFormat`.
    public static func read(_ path: String) throws -> ReferenceModel {
        try decode(FileBytes.readStored(path), source: path)
    }

    /// The bytes of a model file.
    public static func encode(_ model: ReferenceModel) -> [UInt8] {
        var sections: [(ModelSection, [UInt8])] = [
            (.parameters, encodeParameters(model)), (.statistics, encodeStatistics(model)),
            (.covariates, encodeCovariates(model)), (.levelTerms, encodeLevelTerms(model)),
        ]
        if let labels = model.labels { sections.append((.labels, encodeLabels(labels))) }
        if let cells = model.cells {
            sections.append((.cellIds, encodeCellIds(cells)))
            sections.append((.cellData, encodeCellData(cells)))
        }
        if let genes = model.geneSpace { sections.append((.genes, encodeGenes(genes))) }
        if let spread = model.clusterSpread { sections.append((.clusterSpread, encodeClusterSpread(spread))) }
        if let layout = model.layout { sections.append((.layout, encodeLayout(layout))) }
        let flags = (model.isCompact ? flagCompact : 0) | (model.labels != nil ? flagLabels : 0)
            | (model.geneSpace != nil ? flagGenes : 0) | (model.clusterSpread != nil ? flagClusterSpread : 0)
            | (model.layout != nil ? flagLayout : 0)
        let tableEnd = fixedHeaderSize + tableEntrySize * sections.count
        var offset = align8(tableEnd + 4)
        var out = ByteWriter(capacity: offset + sections.reduce(0) { $0 + align8($1.1.count) })
        out.writeBytes(magic)
        out.writeUInt32(model.formatVersion)
        out.writeUInt32(flags)
        out.writeUInt64(model.modelVersion)
        let lengthField = out.count
        out.writeUInt64(0)
        out.writeUInt32(UInt32(sections.count))
        out.writeUInt32(0)
        for (id, body) in sections {
            out.writeUInt32(id.rawValue)
            out.writeUInt32(CRC32.checksum(body))
            out.writeUInt64(UInt64(offset))
            out.writeUInt64(UInt64(body.count))
            offset = align8(offset + body.count)
        }
        out.patchUInt64(UInt64(offset), at: lengthField)
        out.writeUInt32(CRC32.checksum(out.bytes[0..<tableEnd]))
        for (_, body) in sections {
            out.pad(toMultipleOf: 8)
            out.writeBytes(body)
        }
        out.pad(toMultipleOf: 8)
        return out.take()
    }

    /// Parses and validates model file bytes; `source` names the file in error messages.
    public static func decode(_ bytes: [UInt8], source: String) throws -> ReferenceModel {
        try bytes.withUnsafeBytes { raw in
            let table = try sectionTable(bytes, source: source)
            let flags = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            let version = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            func reader(_ s: ModelSection) -> ModelSectionReader? {
                table.first { $0.0 == s }.map {
                    ModelSectionReader(bytes, range: $0.1..<($0.1 + $0.2), context: "\(source): section \(s.name)")
                }
            }
            let expected: [ModelSection] = [.parameters, .statistics, .covariates, .levelTerms]
                + (flags & flagLabels != 0 ? [.labels] : []) + (flags & flagCompact == 0 ? [.cellIds, .cellData] : [])
                + (flags & flagGenes != 0 ? [.genes] : []) + (flags & flagClusterSpread != 0 ? [.clusterSpread] : [])
                + (flags & flagLayout != 0 ? [.layout] : [])
            guard table.map(\.0) == expected else {
                throw HarmonyError.fileFormat("\(source): the sections \(table.map(\.0.name)) do not match the flags "
                                              + "(expected \(expected.map(\.name)))")
            }
            return try decodeModel(version: version, parameters: reader(.parameters)!, statistics: reader(.statistics)!,
                                   covariates: reader(.covariates)!, levelTerms: reader(.levelTerms)!,
                                   labels: reader(.labels), cellIds: reader(.cellIds), cellData: reader(.cellData),
                                   genes: reader(.genes), clusterSpread: reader(.clusterSpread), layout: reader(.layout),
                                   source: source)
        }
    }

    /// The section table of model file bytes, after checking magic, version, header checksum and length.
    public static func sections(_ bytes: [UInt8], source: String) throws -> [SectionInfo] {
        try sectionTable(bytes, source: source).map { SectionInfo(name: $0.0.name, offset: $0.1, length: $0.2) }
    }

    /// The format version of model file bytes (after the same checks as `sections`).
    public static func formatVersion(_ bytes: [UInt8], source: String) throws -> UInt32 {
        _ = try sectionTable(bytes, source: source)
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) }
    }

    // MARK: - Framing

    static func sectionTable(_ bytes: [UInt8], source: String) throws -> [(ModelSection, Int, Int)] {
        try bytes.withUnsafeBytes { try sectionTable(bytes, raw: $0, source: source) }
    }

    private static func sectionTable(_ bytes: [UInt8], raw: UnsafeRawBufferPointer,
                                     source: String) throws -> [(ModelSection, Int, Int)] {
        func bad(_ m: String) -> HarmonyError { .fileFormat("\(source): \(m)") }
        // The magic first: a short file of some other kind (a pickle named .hmod) is not "truncated".
        let lead = Array(raw.prefix(magic.count))
        guard lead == Array(magic.prefix(lead.count)) else {
            let pickle = lead.count >= 2 && lead[0] == 0x80 && (2...5).contains(lead[1])
            throw bad("not a Harmony model file (" + (pickle
                ? "it starts like a Python pickle; write models with harmony_swift's Reference.save or `harmony fit --reference-out`)"
                : "wrong magic bytes)"))
        }
        guard raw.count >= fixedHeaderSize + 4 else {
            throw bad("truncated: only \(raw.count) bytes, less than a model file's header")
        }
        var header = ModelSectionReader(bytes, range: 8..<fixedHeaderSize, context: source)
        let format = try header.u32()
        guard format >= 1 else { throw bad("invalid format version 0") }
        guard format <= ReferenceModel.currentFormatVersion else {
            throw bad("written with model format \(format); this build reads format \(ReferenceModel.currentFormatVersion) "
                      + "and older (upgrade harmony)")
        }
        let flags = try header.u32()
        _ = try header.u64()
        let declaredLength = try header.u64()
        let count = Int(try header.u32())
        let reserved = try header.u32()
        guard count <= ModelSection.allCases.count else { throw bad("corrupt header (\(count) sections)") }
        let tableEnd = fixedHeaderSize + tableEntrySize * count
        guard raw.count >= tableEnd + 4 else { throw bad("truncated inside the section table") }
        let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: tableEnd, as: UInt32.self))
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<tableEnd])) == stored else {
            throw bad("header checksum mismatch (the file is corrupt)")
        }
        guard declaredLength == UInt64(raw.count) else {
            throw bad(UInt64(raw.count) < declaredLength
                      ? "truncated: the header says \(declaredLength) bytes, the file has \(raw.count)"
                      : "\(UInt64(raw.count) - declaredLength) unexpected bytes after the end of the model")
        }
        // Format 1 knew only the compact and labels bits; format 2 added the gene and cluster-spread sections,
        // format 3 the layout.
        let known = format == 1 ? flagCompact | flagLabels
            : format == 2 ? flagCompact | flagLabels | flagGenes | flagClusterSpread
            : flagCompact | flagLabels | flagGenes | flagClusterSpread | flagLayout
        guard flags & ~known == 0, reserved == 0 else { throw bad("unknown header flags") }
        var entries: [(ModelSection, Int, Int)] = []
        var reader = ModelSectionReader(bytes, range: fixedHeaderSize..<tableEnd, context: source)
        var cursor = tableEnd + 4
        for _ in 0..<count {
            let idValue = try reader.u32(), sum = try reader.u32(), offset = try reader.u64(), length = try reader.u64()
            guard let id = ModelSection(rawValue: idValue) else { throw bad("unknown section id \(idValue)") }
            guard entries.last.map({ $0.0.rawValue < idValue }) ?? true else { throw bad("sections out of order") }
            guard offset == UInt64(align8(cursor)), length <= UInt64(raw.count) - offset else {
                throw bad("section \(id.name) lies outside the file or is misplaced")
            }
            try checkZero(raw, cursor, Int(offset), source: source)
            let o = Int(offset), l = Int(length)
            guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[o..<(o + l)])) == sum else {
                throw bad("checksum mismatch in section \(id.name) (the file is corrupt)")
            }
            entries.append((id, o, l))
            cursor = o + l
        }
        guard align8(cursor) == raw.count else { throw bad("the last section does not end the file") }
        try checkZero(raw, cursor, raw.count, source: source)
        return entries
    }

    static func checkZero(_ raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, source: String) throws {
        for i in from..<to where raw[i] != 0 {
            throw HarmonyError.fileFormat("\(source): non-zero padding byte at offset \(i) (the file is corrupt)")
        }
    }

    static func align8(_ n: Int) -> Int { (n + 7) & ~7 }
}
