import Foundation
import Testing
import TestSupport

/// `Scripts/embed-model.sh` refuses a model that is not JSON, which would build and then stop every command at
/// its start. Python's JSON reader takes `NaN` and `Infinity`, which sepbeat refuses as not JSON: before, such a
/// model was embedded.
@Suite struct EmbedModelScriptTests {
    /// Runs a copy of the script in `folder`, laid out as the package is, on `model`; its status and stderr.
    static func embed(_ model: String, in folder: TemporaryFolder) throws -> ScriptRun {
        let files = FileManager.default
        try files.createDirectory(atPath: folder.path + "/Scripts", withIntermediateDirectories: true)
        try files.createDirectory(atPath: folder.path + "/Sources/Heartbeat/Resources",
                                  withIntermediateDirectories: true)
        try files.copyItem(atPath: Fixtures.packageRoot + "/Scripts/embed-model.sh",
                           toPath: folder.path + "/Scripts/embed-model.sh")
        _ = folder.write("Sources/Heartbeat/Resources/reference-model.json", model)
        return try ScriptRun("/usr/bin/env", ["bash", folder.path + "/Scripts/embed-model.sh"])
    }

    @Test(arguments: ["NaN", "Infinity", "-Infinity"])
    func aModelWithANonNumberIsRefused(_ constant: String) throws {
        let folder = try TemporaryFolder()
        let run = try Self.embed("{\"interval\": {\"seconds\": \(constant)}}\n", in: folder)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("is not valid JSON: ValueError: \(constant) is not a JSON value"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(
            atPath: folder.path + "/Sources/Heartbeat/ReferenceModel+BuiltInText.swift"))
    }

    @Test func aModelThatIsJSONIsEmbedded() throws {
        let folder = try TemporaryFolder()
        let run = try Self.embed("{\"interval\": {\"seconds\": 300}}\n", in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOfFile: folder.path + "/Sources/Heartbeat/ReferenceModel+BuiltInText.swift",
                              encoding: .utf8)
        #expect(text.contains("{\"interval\": {\"seconds\": 300}}\n\"\"\"#"))
    }
}
