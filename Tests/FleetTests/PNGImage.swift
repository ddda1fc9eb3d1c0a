import CZlib
import Foundation

/// An 8-bit RGB or RGBA PNG decoded to its pixels (what Chromium's screenshots are), so a test
/// can tell a drawn page from a blank one.
struct PNGImage {
    let width: Int
    let height: Int
    /// Bytes per pixel: 3 (RGB) or 4 (RGBA).
    let channels: Int
    /// Rows top to bottom, `width * channels` bytes each, unfiltered.
    let pixels: [UInt8]

    struct DecodingError: Error, CustomStringConvertible {
        var description: String
    }

    init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw DecodingError(description: "not a PNG")
        }
        var offset = 8
        var header: [UInt8] = []
        var compressed: [UInt8] = []
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard offset + 12 + length <= bytes.count else { throw DecodingError(description: "chunk \(type) runs past the end") }
            let body = bytes[offset + 8..<offset + 8 + length]
            if type == "IHDR" { header = Array(body) }
            if type == "IDAT" { compressed += body }
            offset += 12 + length
        }
        guard header.count == 13 else { throw DecodingError(description: "no IHDR") }
        width = header[0..<4].reduce(0) { $0 << 8 | Int($1) }
        height = header[4..<8].reduce(0) { $0 << 8 | Int($1) }
        let (depth, colorType, interlace) = (header[8], header[9], header[12])
        guard depth == 8, colorType == 2 || colorType == 6, interlace == 0 else {
            throw DecodingError(description: "only 8-bit RGB/RGBA without interlace is read (depth \(depth), color type \(colorType))")
        }
        channels = colorType == 6 ? 4 : 3
        let stride = width * channels
        let filtered = try Self.inflate(compressed, expected: height * (stride + 1))
        pixels = try Self.unfilter(filtered, rows: height, stride: stride, channels: channels)
    }

    /// Distinct colours, up to `limit`.
    func distinctColors(limit: Int = 1_000) -> Set<UInt32> {
        var colors: Set<UInt32> = []
        var index = 0
        while index < pixels.count, colors.count < limit {
            colors.insert(UInt32(pixels[index]) << 16 | UInt32(pixels[index + 1]) << 8 | UInt32(pixels[index + 2]))
            index += channels
        }
        return colors
    }

    /// Pixels of exactly this colour (0xRRGGBB).
    func count(of color: UInt32) -> Int {
        var count = 0
        var index = 0
        while index < pixels.count {
            if UInt32(pixels[index]) << 16 | UInt32(pixels[index + 1]) << 8 | UInt32(pixels[index + 2]) == color { count += 1 }
            index += channels
        }
        return count
    }

    private static func inflate(_ compressed: [UInt8], expected: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expected)
        var outputLength = uLongf(expected)
        let status = compressed.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                uncompress(out.baseAddress, &outputLength, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK, Int(outputLength) == expected else {
            throw DecodingError(description: "zlib status \(status), \(outputLength) of \(expected) bytes")
        }
        return output
    }

    /// PNG filtering undone row by row (filter types 0 to 4, PNG spec 9.2).
    private static func unfilter(_ data: [UInt8], rows: Int, stride: Int, channels: Int) throws -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: rows * stride)
        for row in 0..<rows {
            let filter = data[row * (stride + 1)]
            let source = row * (stride + 1) + 1
            let target = row * stride
            for column in 0..<stride {
                let raw = data[source + column]
                let left = column >= channels ? Int(pixels[target + column - channels]) : 0
                let up = row > 0 ? Int(pixels[target - stride + column]) : 0
                let upLeft = row > 0 && column >= channels ? Int(pixels[target - stride + column - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = left
                case 2: predictor = up
                case 3: predictor = (left + up) / 2
                case 4:
                    let estimate = left + up - upLeft
                    let (toLeft, toUp, toUpLeft) = (abs(estimate - left), abs(estimate - up), abs(estimate - upLeft))
                    predictor = toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft
                default: throw DecodingError(description: "filter type \(filter) in row \(row)")
                }
                pixels[target + column] = raw &+ UInt8(truncatingIfNeeded: predictor)
            }
        }
        return pixels
    }
}
