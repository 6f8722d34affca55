import Foundation
import Testing

@testable import Heartbeat

/// A key given twice in one object of a model file: JSON parsers keep the last value without a word, so
/// the file is refused (exit status 2) with one line naming the file, the line, the field and the first line.
@Suite struct RepeatedModelKeyTests {
    private func refusal(_ json: String, file: String = "site.json") -> String? {
        do {
            _ = try ReferenceModel.parse(data: Data(json.utf8), file: file)
            return nil
        } catch {
            #expect(error.exitStatus == 2)
            return error.description
        }
    }

    @Test func aTopLevelKeyGivenTwiceIsRefusedNamingBothLines() {
        let json = """
        {
          "interval": { "seconds": 600 },
          "connect": { "timeoutSeconds": 30 },
          "interval": { "seconds": 900 }
        }
        """
        #expect(refusal(json) == "site.json: line 4: field \"interval\" is given twice (first on line 2); "
            + "only one value can count: remove one")
    }

    @Test func aNestedKeyIsNamedByItsPath() {
        let json = "{\n  \"interval\": {\n    \"seconds\": 600,\n    \"seconds\": 900\n  }\n}\n"
        #expect(refusal(json) == "site.json: line 4: field \"interval.seconds\" is given twice (first on line 3); "
            + "only one value can count: remove one")
        // On one line, and inside a list's element: the element's index is part of the path.
        let servers = #"{"servers": [{"host": "10.1.0.10"}, {"host": "10.1.0.11", "port": 443, "host": "x"}]}"#
        #expect(refusal(servers) == "site.json: line 1: field \"servers[1].host\" is given twice (first on line 1); "
            + "only one value can count: remove one")
    }

    @Test func keysAreComparedWithTheirEscapesUndone() {
        let json = "{\n\"interval\": {\"seconds\": 600},\n\"\\u0069nterval\": {\"seconds\": 900}\n}"
        #expect(refusal(json)?.hasPrefix("site.json: line 3: field \"interval\" is given twice (first on line 2)")
            == true)
    }

    @Test func theSameKeyInTwoObjectsAndRepeatedCommentsAreFine() throws {
        // `seconds` in two objects; `_comment` repeated (comments are ignored), and inside a comment's value.
        let json = """
        {
          "_comment": "site model",
          "interval": { "seconds": 600, "_comment": "ten minutes" },
          "_comment": "second note",
          "_notes": { "a": 1, "a": 2 },
          "connect": { "timeoutSeconds": 30 },
          "push": { "heartbeatSeconds": 600 }
        }
        """
        #expect(refusal(json) == nil)
        let model = try ReferenceModel.parse(data: Data(json.utf8), file: "site.json")
        #expect(model.interval.seconds == 600)
        // A key that is the same text as a value elsewhere is no repeat.
        #expect(refusal(#"{"http": {"userAgent": "interval"}, "interval": {"seconds": 300}}"#) == nil)
    }

    @Test func utf16TextIsReadToo() throws {
        let json = "{\n\"interval\": {\"seconds\": 600},\n\"interval\": {\"seconds\": 900}\n}"
        for encoding in [String.Encoding.utf16LittleEndian, .utf16BigEndian] {
            let data = try #require(json.data(using: encoding))
            #expect(ReferenceModel.repeatedKey(in: data) == RepeatedKey(field: "interval", line: 3, firstLine: 2))
        }
        #expect(ReferenceModel.repeatedKey(in: Data([0xEF, 0xBB, 0xBF]) + Data(json.utf8))
            == RepeatedKey(field: "interval", line: 3, firstLine: 2))
    }

    /// A file with CR-only line ends was all "line 1"; CR LF still counts once.
    @Test func everyLineEndCounts() {
        let lines = ["{", "\"interval\": {\"seconds\": 600},", "\"interval\": {\"seconds\": 900}", "}"]
        for end in ["\r", "\r\n", "\n"] {
            #expect(ReferenceModel.repeatedKey(in: Data(lines.joined(separator: end).utf8))
                == RepeatedKey(field: "interval", line: 3, firstLine: 2), "\(Array(end.utf8))")
        }
    }

    /// The scan runs only on text the parser took; text it would not take still gives an answer, not a trap.
    @Test func unbalancedTextIsNoTrap() {
        #expect(ReferenceModel.repeatedKey(in: Data("}]{\"a\": 1, \"a\": 2}".utf8)) == nil)
        #expect(ReferenceModel.repeatedKey(in: Data("{\"a\": \"\\".utf8)) == nil)
    }

    @Test func theShippedModelRepeatsNoKey() {
        #expect(ReferenceModel.repeatedKey(in: Data(ReferenceModel.builtInText.utf8)) == nil)
    }
}
