import Foundation

/// A linear axis of a chart: a range widened to round numbers, its ticks, and where a value falls
/// along it.
struct ChartScale {
    let lower: Double
    let upper: Double
    /// Round values from `lower` to `upper`, for grid lines and labels.
    let ticks: [Double]

    /// A range from `minimum` to `maximum` widened to round ticks (1, 2 or 5 times a power of
    /// ten apart), about `tickCount` of them.
    init(from minimum: Double, to maximum: Double, tickCount: Int = 5) {
        let low = minimum.isFinite ? minimum : 0
        var high = maximum.isFinite ? maximum : 1
        if high <= low { high = low + (low == 0 ? 1 : abs(low)) }
        let rough = (high - low) / Double(max(tickCount, 1))
        let magnitude = pow(10, floor(log10(rough)))
        // The round step nearest the rough one.
        let step = switch rough / magnitude {
        case ..<1.5: magnitude
        case ..<3: 2 * magnitude
        case ..<7: 5 * magnitude
        default: 10 * magnitude
        }
        lower = floor(low / step) * step
        upper = ceil(high / step) * step
        ticks = stride(from: lower, through: upper + step / 2, by: step).map { $0 }
    }

    /// A scale with the given range and ticks, for axes whose ticks are not linear round numbers.
    init(lower: Double, upper: Double, ticks: [Double]) {
        self.lower = lower
        self.upper = upper
        self.ticks = ticks
    }

    /// `value`'s offset from the axis's start, `length` long.
    func offset(of value: Double, across length: Double) -> Double {
        upper == lower ? 0 : (value - lower) / (upper - lower) * length
    }

    /// A tick's label: 3 significant digits, thousands as k and millions as M.
    static func label(_ value: Double) -> String {
        let size = abs(value)
        if size >= 1e6 { return trimmed(value / 1e6) + "M" }
        if size >= 1e4 { return trimmed(value / 1e3) + "k" }
        if size >= 1e3 { return String(format: "%.0f", value) }
        return trimmed(value)
    }

    private static func trimmed(_ value: Double) -> String {
        var text = String(format: "%.3g", value)
        if text.contains("."), !text.contains("e") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }
}
