import HubTestSupport
import XCTest

/// Property tests draw from `SeededRandom` (HubTestSupport): a failure replays from its seed.
extension SeededRandom {
    /// A generator fixed to `seed` unless `CHUB_TEST_SEED` names another.
    init(seed: UInt64) { self.init(defaultSeed: seed) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// Parses `bytes` with Foundation, an independent judge of what our writer produced.
func jsonValue(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Any? {
    do {
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    } catch {
        XCTFail("not valid JSON: \(bytes.text)", file: file, line: line)
        return nil
    }
}
