import CJPEG
import CVips
import Foundation

/// An image as a stage hands it to libvips: a staged file, or bytes staged in memory.
public enum ImageInput: Sendable {
    case file(String)
    /// Bytes libvips reads from memory, as ``staged(_:at:)`` makes them (which writes any other
    /// bytes to a file); `spill` is the path they stand for in messages.
    case memory(Data, spill: String)

    /// For messages: the path, or the spill path the bytes stand for.
    public var name: String {
        switch self {
        case .file(let path): path
        case .memory(_, let spill): spill
        }
    }

    /// `bytes` as an input: in memory when libvips reads their format from memory (or when
    /// there are none: an empty file, rejected as such), else written to `path` (its folder
    /// made if need be) once, here: a failed write is this call's error, not the image's. The
    /// file is the caller's to remove. Blocking when it writes: call it from ``BlockingPools``.
    public static func staged(_ bytes: Data, at path: String) throws -> ImageInput {
        VipsRuntime.start()
        let fromMemory = bytes.withUnsafeBytes { pl_vips_loads_from_memory($0.baseAddress, $0.count) != 0 }
        if fromMemory || bytes.isEmpty { return .memory(bytes, spill: path) }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: path))
        return .file(path)
    }
}

/// An image as libvips should read it: from memory (a staged file mapped read-only, or staged
/// bytes). Finding a file's loader by name opens the file once for every loader that sniffs
/// it (48 opens, 150 seeks and 60 stats for one JPEG with Debian's libvips 8.14 and its
/// OpenSlide, which even looks for SQLite journals beside it); from memory that is a few
/// comparisons. Formats that libvips loads from files only are read from their file. Blocking;
/// the bytes live as long as this object, so keep it alive while libvips reads the image.
final class ImageSource {
    let path: String
    private var base: UnsafeMutableRawPointer?
    /// How `base` was obtained, so it is released the same way.
    private var mapped = false
    /// The image's size in bytes.
    let count: Int
    /// Whether libvips loads this image from memory.
    private(set) var inMemory = false

    /// Maps `path`; an empty or unreadable file throws the rejection the inspector reports.
    convenience init(_ path: String) throws(ImageRejection) {
        try self.init(.file(path))
    }

    init(_ input: ImageInput) throws(ImageRejection) {
        VipsRuntime.start()
        switch input {
        case .file(let path):
            self.path = path
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw .corrupt(detail: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                throw .corrupt(detail: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            guard status.st_size > 0 else { throw .emptyFile }
            count = Int(status.st_size)
            let region = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor, 0)
            if let region, region != MAP_FAILED {
                base = region
                mapped = true
                inMemory = pl_vips_loads_from_memory(region, count) != 0
            }
        case .memory(let bytes, let spill):
            // Bytes libvips reads from memory (``ImageInput/staged(_:at:)`` sniffed them):
            // loaded from a buffer, not asked again; any that are not fail to load, as
            // bytes of no format do.
            path = spill
            guard !bytes.isEmpty else { throw .emptyFile }
            count = bytes.count
            let copy = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
            bytes.copyBytes(to: copy.assumingMemoryBound(to: UInt8.self), count: count)
            base = copy
            inMemory = true
        }
    }

    deinit {
        if let base {
            if mapped { munmap(base, count) } else { base.deallocate() }
        }
    }

    /// The image, header read and pixels not yet decoded, or nil with libvips' error set.
    /// `strict` treats every decoder warning as an error (truncation, bad CRCs).
    func load(strict: Bool = false) -> UnsafeMutablePointer<VipsImage>? {
        if inMemory, let base {
            return strict
                ? pl_vips_image_new_from_buffer_strict(base, count)
                : pl_vips_image_new_from_buffer_sequential(base, count)
        }
        return strict ? pl_vips_image_new_from_file_strict(path) : pl_vips_image_new_from_file_sequential(path)
    }

    /// The bytes, when they are in memory and start as a JPEG does (SOI marker).
    var jpegBytes: UnsafeMutablePointer<UInt8>? {
        guard inMemory, let base, count > 2 else { return nil }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        return bytes[0] == 0xFF && bytes[1] == 0xD8 ? bytes : nil
    }

    /// The JPEG header of these bytes, when they are in memory and a JPEG libjpeg can read.
    func jpegHeader() -> PLJpegHeader? {
        guard let bytes = jpegBytes else { return nil }
        var header = PLJpegHeader()
        return pl_jpeg_header(bytes, count, &header, nil, 0) == 0 ? header : nil
    }

    /// A plain JPEG (``PLJpegHeader/plain``) decoded by libjpeg at 1/`denom` (DCT scaling)
    /// straight into a new memory image: what libvips' shrink-on-load gives, without its
    /// per-operation machinery.
    func decodeJPEG(_ header: PLJpegHeader, denom: Int) throws(ResizeError) -> UnsafeMutablePointer<VipsImage> {
        var image: UnsafeMutablePointer<VipsImage>?
        do {
            try decodeJPEG(header, denom: denom) { width, height in
                image = pl_vips_new_uchar(Int32(width), Int32(height), header.components)
                return image.flatMap { pl_vips_pixels($0) }
            }
        } catch {
            if let image { pl_g_object_unref(image) }
            throw error
        }
        return image!
    }

    /// A plain JPEG decoded by libjpeg at 1/`denom` into the pixels `allocate` gives for the
    /// decoded width and height (nil: out of memory).
    func decodeJPEG(
        _ header: PLJpegHeader, denom: Int, into allocate: (_ width: Int, _ height: Int) -> UnsafeMutablePointer<UInt8>?
    ) throws(ResizeError) {
        guard let bytes = jpegBytes else { throw ResizeError(message: "\(path): not a JPEG in memory") }
        var width: Int32 = 0
        var height: Int32 = 0
        pl_jpeg_scaled_size(header.width, header.height, Int32(denom), &width, &height)
        guard let pixels = allocate(Int(width), Int(height)) else {
            throw ResizeError(message: "\(path): no memory for \(width)x\(height) pixels")
        }
        var message = [CChar](repeating: 0, count: 256)
        let size = Int(width) * Int(height) * Int(header.components)
        guard pl_jpeg_decode(bytes, count, Int32(denom), pixels, size, 0, &message, message.count) == 0 else {
            throw ResizeError(message: "\(path): \(String(cString: message))")
        }
    }

    /// Decodes every pixel of a JPEG in memory with libjpeg, every warning an error; nil when
    /// the bytes are not a JPEG in memory (libvips checks those), else the failure if any.
    func decodeJPEGStrictly() -> Result<Void, ImageRejection>? {
        guard let bytes = jpegBytes else { return nil }
        var message = [CChar](repeating: 0, count: 256)
        guard pl_jpeg_decode(bytes, count, 1, nil, 0, 1, &message, message.count) == 0 else {
            return .failure(.corrupt(detail: "JPEG: " + String(cString: message)))
        }
        return .success(())
    }

    /// Shrink-on-load to fit `width` x `height`, never up, orientation applied.
    func thumbnail(_ output: UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>, width: Int, height: Int) -> Int32 {
        if inMemory, let base {
            return pl_vips_thumbnail_buffer_down(base, count, output, Int32(width), Int32(height))
        }
        return pl_vips_thumbnail_down(path, output, Int32(width), Int32(height))
    }
}
