// One `uv_write` of several buffers.
//
// Thread contract: loop thread only. The request owns its byte arrays until the write callback runs
// (libuv reads them asynchronously); the retain stored in `data` keeps it alive until then.
import CLibUV

/// A gathered write of byte arrays to a stream, with a completion on the loop thread.
final class WriteRequest {
    private let request: UnsafeMutablePointer<uv_write_t>
    private let buffers: UnsafeMutablePointer<uv_buf_t>
    private let chunks: [[UInt8]]
    private let completion: (Int32) -> Void

    /// Writes `chunks` in order to `stream`; `completion` receives libuv's status (0 or a negative error).
    /// Returns false (and never calls `completion`) when libuv refuses the write at once.
    @discardableResult
    static func write(_ chunks: [[UInt8]], to stream: UnsafeMutablePointer<uv_stream_t>,
                      completion: @escaping (Int32) -> Void) -> Bool {
        let write = WriteRequest(chunks: chunks, completion: completion)
        let retained = Unmanaged.passRetained(write)
        write.request.pointee.data = retained.toOpaque()
        let rc = uv_write(write.request, stream, write.buffers, UInt32(chunks.count), { request, status in
            let write = Unmanaged<WriteRequest>.fromOpaque(request!.pointee.data).takeRetainedValue()
            write.completion(status)
        })
        if rc < 0 {
            retained.release()
            return false
        }
        return true
    }

    private init(chunks: [[UInt8]], completion: @escaping (Int32) -> Void) {
        self.chunks = chunks
        self.completion = completion
        request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        buffers = UnsafeMutablePointer<uv_buf_t>.allocate(capacity: max(chunks.count, 1))
        for (i, chunk) in chunks.enumerated() {
            // An array's heap storage does not move while the array is alive and unmodified; `chunks` is
            // immutable and owned by this request until the write callback, so the address stays valid.
            let base = chunk.withUnsafeBufferPointer { UnsafeMutablePointer(mutating: $0.baseAddress) }
            buffers[i] = uv_buf_init(UnsafeMutableRawPointer(base)?.assumingMemoryBound(to: CChar.self),
                                     UInt32(chunk.count))
        }
    }

    deinit {
        request.deallocate()
        buffers.deallocate()
    }
}
