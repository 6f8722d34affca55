import FuzzTargets
import Testing

/// Inputs the fuzz targets once crashed on; each must now run cleanly. Found by the mutation
/// tests or by `Scripts/fuzz.sh`, minimised, with the bug each one showed.
@Suite struct FuzzRegressionTests {
    /// SyLink.xml `<S` + 0xB7 + `89C`: Foundation's XMLParser trapped on the invalid UTF-8 in the
    /// element name (`sepbeat model --sylink FILE` died with SIGILL).
    @Test func sylinkWithInvalidUTF8InAnElementName() {
        FuzzTarget.sylink.run([0x3c, 0x53, 0xb7, 0x38, 0x39, 0x43])
    }

    /// SyLink.xml `<?a?>`: a processing instruction without data made Foundation's XMLParser call
    /// `strlen` on a null pointer (`sepbeat model --sylink FILE` died with SIGSEGV).
    @Test func sylinkWithAProcessingInstructionWithoutData() {
        FuzzTarget.sylink.run(Array("<?a?>".utf8))
        FuzzTarget.sylink.run(Array("<?F-82?>\n<ServerSettings DomainId=\"0\"/>".utf8))
    }
}
