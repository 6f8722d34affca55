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

    /// Also warns (unless `--quiet`) of the file's `Server` elements outside its `ServerList`: ignored without a
    /// word, they would leave a user who took one for a manager wondering why its check-ins are not judged. And of
    /// its priority blocks whose name ends in no number: the priority their servers get is this tool's rule.
    /// Also warns when `model` is a model file that pins its interval (`interval.pinned`, as `sepbeat model
    /// --interval` writes it) and the file's pull interval differs: SyLink.xml's would be set aside without a word.
    static func sylink(_ options: Options, command: String, model: ReferenceModel,
                       output: inout Output) throws -> SyLinkFile? {
        guard let path = options.sylinkPath else { return nil }
        let file: SyLinkFile
        do {
            file = try SyLinkFile.load(path: path)
        } catch {
            throw CommandFailure(message: "sepbeat \(command): \(error.description)", status: ExitStatus.usage)
        }
        if !options.quiet, let note = file.ignoredServersNote {
            output.error(SepbeatCommand.oneLine("sepbeat \(command): warning: \(note)"))
        }
        if !options.quiet, let note = file.unnumberedBlocksNote {
            output.error(SepbeatCommand.oneLine("sepbeat \(command): warning: \(note)"))
        }
        if !options.quiet, options.intervalSeconds == nil, let aside = model.pullIntervalSetAside(by: file) {
            output.error(SepbeatCommand.oneLine("sepbeat \(command): warning: \(path)'s pull interval "
                + "(\(aside.sylinkSeconds) s) is not used: the model file pins \(aside.pinned) s (its interval.pinned "
                + "is true, as 'sepbeat model --interval' writes it; set it to false to let SyLink.xml's interval "
                + "apply)"))
        }
        return file
    }
}
