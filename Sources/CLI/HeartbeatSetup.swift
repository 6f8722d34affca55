import Heartbeat

/// Builds the reference model in effect from `--model`, `--interval` and `--server`,
/// and reads `--sylink`. Every problem is a usage error (exit status 2) naming the file or option.
enum HeartbeatSetup {
    static func model(_ options: Options, command: String) throws -> ReferenceModel {
        do {
            var model = try options.modelPath.map { path throws(ModelError) in try ReferenceModel.load(path: path) }
                ?? ReferenceModel.builtIn
            if let seconds = options.intervalSeconds { model = try model.withInterval(seconds: seconds) }
            for server in options.servers { model = try model.withServer(server) }
            return model
        } catch {
            throw CommandFailure(message: "sepbeat \(command): \(error.description)", status: error.exitStatus)
        }
    }

    static func sylink(_ options: Options, command: String) throws -> SyLinkFile? {
        guard let path = options.sylinkPath else { return nil }
        do {
            return try SyLinkFile.load(path: path)
        } catch {
            throw CommandFailure(message: "sepbeat \(command): \(error.description)", status: ExitStatus.usage)
        }
    }
}
