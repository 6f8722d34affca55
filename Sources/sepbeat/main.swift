import CLI
#if canImport(Glibc)
import Glibc
#endif

let status = SepbeatCommand.main(arguments: Array(CommandLine.arguments.dropFirst()))
exit(status)
