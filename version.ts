/**
 * Versions this node advertises. The p2p and block protocol versions are CometBFT v0.38's
 * (`version.P2PProtocol`, `BlockProtocol`); peers check only `block`.
 * @module
 */

/** Software version of switchyard (NodeInfo `version` is configurable; this is the default). */
export const SOFTWARE_VERSION = "0.38.25";
/** `ProtocolVersion.p2p` sent by CometBFT v0.38. */
export const P2P_PROTOCOL = 8;
/** `ProtocolVersion.block`: must equal the peer's or the handshake is refused. */
export const BLOCK_PROTOCOL = 11;
