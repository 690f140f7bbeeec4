import Foundation

/// Polls `condition` every 10 ms for at most `timeout` seconds; true once it holds. The
/// default is generous on purpose: it bounds a failure, it is never a figure under test.
public func waitUntil(timeout: TimeInterval = 30, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}
