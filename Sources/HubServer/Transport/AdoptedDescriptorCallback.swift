import CLibWebSockets
import Foundation

/// The lws callback of the raw-file protocol: descriptors the loop watches for
/// readability (`HubLoop.adoptReadable`). It lives on a vhost of its own, so no client
/// connection can ever bind to it. Loop thread.
let lwsAdoptedDescriptorCallback: @convention(c) (
    OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int
) -> Int32 = { wsi, reason, _, input, length in
    guard !isPollBookkeeping(reason), let wsi, let loop = HubLoop.owning(wsi) else { return 0 }
    return loop.dispatch(.adoptedDescriptor, wsi: wsi, reason: reason, input: input, length: length)
}

extension HubLoop {
    /// Loop thread. Per-session state: the `AdoptedDescriptor` registered under this wsi.
    func adoptedDescriptorCallback(wsi: OpaquePointer, reason: lws_callback_reasons,
                                   input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_RAW_RX_FILE:
            guard let descriptor = adopted[wsi] else { return -1 }
            return descriptor.handleReadable()
        case LWS_CALLBACK_RAW_CLOSE_FILE, LWS_CALLBACK_WSI_DESTROY:
            // The registry was its only owner: the loss is reported once, whichever comes first.
            if let descriptor = adopted.removeValue(forKey: wsi) { descriptor.handleClosed() }
            return 0
        default:
            return 0
        }
    }

    /// Watches `fd` for readability on the loop (lws raw-file adoption). Loop thread.
    ///
    /// Ownership: on success the loop owns `fd` and closes it when the adoption ends
    /// (`AdoptedDescriptor.close()`, hangup, or `stop()`): pass a `dup()` of a descriptor
    /// someone else owns (e.g. `dup(PQsocket(conn))`). On throw the caller still owns `fd`.
    ///
    /// `onReadable` runs on the loop each time the descriptor polls readable (level
    /// triggered: consume the data or it fires again). `onClosed` runs once if lws drops
    /// the descriptor for any reason other than `close()` (hangup, error, loop stop).
    public func adoptReadable(
        fd: Int32,
        onReadable: @escaping () -> Void,
        onClosed: @escaping () -> Void
    ) throws -> AdoptedDescriptor {
        preconditionOnLoop()
        guard let vh = rawVhost, core.context != nil else { throw HubLoopError.notRunning }
        var info = lws_adopt_desc_t()
        info.vh = vh
        info.type = LWS_ADOPT_RAW_FILE_DESC
        info.fd.filefd = fd
        info.vh_prot_name = rawProtocolNamePointer
        // Nothing in the wsi's user slot: lws calls nothing but RAW_ADOPT_FILE before this
        // returns, and from then on the registry (keyed by wsi) owns the descriptor.
        guard let wsi = lws_adopt_descriptor_vhost_via_info(&info) else {
            throw HubLoopError.adoptFailed(fd: fd)
        }
        let descriptor = AdoptedDescriptor(loop: self, fd: fd, onReadable: onReadable, onClosed: onClosed)
        descriptor.wsi = wsi
        adopted[wsi] = descriptor
        return descriptor
    }

    /// Loop thread.
    func closeAdopted(_ descriptor: AdoptedDescriptor) {
        preconditionOnLoop()
        guard let wsi = descriptor.wsi else { return }
        if descriptor.inCallback {
            return  // the RX callback sees closeRequested and returns -1
        }
        // Asynchronous kill: lws closes it on its next timer pass, never under our feet.
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }
}
