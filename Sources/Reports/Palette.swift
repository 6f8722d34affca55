import Heartbeat

/// ANSI colours for text reports, or none.
///
/// The CLI decides whether colour is on (a terminal, `--color`, `NO_COLOR`); renderers only
/// call `paint`, which returns the text unchanged when colour is off.
public struct Palette: Sendable {
    public enum Colour: String, Sendable {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case bold = "1"
        case dim = "2"
    }

    public var enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    public static let none = Palette(enabled: false)

    public func paint(_ text: String, _ colour: Colour?) -> String {
        guard enabled, let colour, !text.isEmpty else { return text }
        return "\u{1b}[\(colour.rawValue)m" + text + "\u{1b}[0m"
    }

    public static func colour(for severity: Severity) -> Colour {
        switch severity {
        case .error: return .red
        case .warning: return .yellow
        case .info: return .blue
        }
    }

    public static func colour(for health: FleetAudit.Health) -> Colour {
        switch health {
        case .unhealthy: return .red
        case .degraded: return .yellow
        case .insufficient: return .dim
        case .healthy: return .green
        }
    }

    /// `pass` green, `n/a` (nothing judged) yellow, `fail` red.
    public static func colour(verdict: String) -> Colour {
        switch verdict {
        case "pass": return .green
        case "n/a": return .yellow
        default: return .red
        }
    }
}
