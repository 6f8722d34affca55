import Foundation
import Heartbeat

/// The heartbeat layer's own file formats: the reference model JSON and SyLink.xml.
enum HeartbeatTargets {
    /// The bytes as a model file given with `--model`; a model that loads must also take the
    /// overrides the command line can apply.
    static func referenceModel(_ bytes: UnsafeRawBufferPointer) {
        guard let model = try? ReferenceModel.parse(data: Data(bytes), file: "fuzz.json") else { return }
        _ = try? model.withInterval(seconds: 60)
        _ = try? model.withServer("192.0.2.1:8014")
    }

    /// The bytes as a SyLink.xml file given with `--sylink`, merged into the built-in model as
    /// the product does.
    static func sylink(_ bytes: UnsafeRawBufferPointer) {
        guard let file = try? SyLinkFile.parse(data: Data(bytes), name: "SyLink.xml") else { return }
        if let seconds = file.pullHeartbeatSeconds { precondition(seconds >= 0, "negative pull interval") }
        _ = ReferenceModel.builtIn.merging(sylink: file)
    }
}
