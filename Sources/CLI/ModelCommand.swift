import Foundation
import Heartbeat

/// `sepbeat model`: prints the reference model in effect as JSON.
enum ModelCommand {
    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        if !options.captures.isEmpty {
            throw UsageError("sepbeat model: takes no capture files (got '\(options.captures[0])')")
        }
        // `-o` over the --model or --sylink file would truncate it before a word is written.
        try InputRun.refuseOverwritingInput(options, command: "model", stdin: output.inputFD)
        var model = try HeartbeatSetup.model(options, command: "model")
        if let sylink = try HeartbeatSetup.sylink(options, command: "model", model: model, output: &output) {
            model = model.merging(sylink: sylink)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(model)
        return try ReportWriter.write(String(decoding: data, as: UTF8.self) + "\n", command: "model", options: options,
                                      output: &output)
    }
}
