import Foundation
import Testing
import TestSupport

@testable import Heartbeat

/// The built-in model travels in the binary as text made from `Resources/reference-model.json`.
@Suite struct BuiltInModelTextTests {
    @Test func compiledTextEqualsTheJSONFile() throws {
        let path = Fixtures.packageRoot + "/Sources/Heartbeat/Resources/reference-model.json"
        let file = try String(contentsOfFile: path, encoding: .utf8)
        // The literal holds the file without its last line break.
        #expect(ReferenceModel.builtInText + "\n" == file,
                "Sources/Heartbeat/ReferenceModel+BuiltInText.swift is out of date: run Scripts/embed-model.sh")
    }

    @Test func builtInModelDecodesFromTheCompiledText() throws {
        let model = ReferenceModel.builtIn
        #expect(model.steps.count == 7)
        #expect(model.steps.map(\.id) == ReferenceModel.stepIDs)
        #expect(model.interval.seconds > 0)
    }
}
