#if canImport(Glibc)
import Glibc
#endif

/// Entry point for the `sepbeat` executable.
public enum SepbeatCommand {
    public static func main(arguments: [String]) -> Int32 {
        0
    }
}
