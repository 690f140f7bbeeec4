import CLibWebSockets
import Foundation

/// A file descriptor watched for readability by the loop (see `HubLoop.adoptReadable`).
/// Loop thread only.
public final class AdoptedDescriptor {
    /// The descriptor given to `adoptReadable` (owned and eventually closed by the loop).
    public let fd: Int32
    weak var loop: HubLoop?
    var wsi: OpaquePointer?
    private var onReadable: (() -> Void)?
    private var onClosed: (() -> Void)?
    var closeRequested = false
    var inCallback = false

    /// Loop thread (from `HubLoop.adoptReadable`).
    init(loop: HubLoop, fd: Int32, onReadable: @escaping () -> Void, onClosed: @escaping () -> Void) {
        self.loop = loop
        self.fd = fd
        self.onReadable = onReadable
        self.onClosed = onClosed
    }

    /// True until `close()` is called or lws drops the descriptor.
    public var isOpen: Bool { wsi != nil && !closeRequested }

    /// Stops watching and lets the loop close the adopted descriptor (shortly, on the loop;
    /// `onReadable` is not called again, `onClosed` is not called). Loop thread; idempotent.
    public func close() {
        guard !closeRequested else { return }
        closeRequested = true
        onReadable = nil
        onClosed = nil
        loop?.closeAdopted(self)
    }

    /// LWS_CALLBACK_RAW_RX_FILE (loop thread): returns -1 to make lws close it.
    func handleReadable() -> Int32 {
        guard !closeRequested, let onReadable else { return -1 }
        inCallback = true
        onReadable()
        inCallback = false
        return closeRequested ? -1 : 0
    }

    /// LWS_CALLBACK_RAW_CLOSE_FILE / WSI_DESTROY (loop thread): reports the loss once.
    func handleClosed() {
        guard wsi != nil || onClosed != nil else { return }
        wsi = nil
        let callback = closeRequested ? nil : onClosed
        onReadable = nil
        onClosed = nil
        callback?()
    }

    /// Drops the callbacks without reporting (adoption failed or context destroyed).
    func detach() {
        wsi = nil
        onReadable = nil
        onClosed = nil
    }
}
