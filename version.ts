/**
 * Versions this node advertises. The p2p and block protocol versions are CometBFT v0.38's
 * (`version.P2PProtocol`, `BlockProtocol`); peers check only `block`.
 * @module
 */

/** switchyard's own release version (`switchyard version`, the start-up log line). */
export const SWITCHYARD_VERSION = "0.9.0";
/**
 * The CometBFT version string NodeInfo `version` carries by default (`node.version` changes it):
 * the release of the CometBFT line switchyard speaks, which peers and explorers expect.
 */
export const SOFTWARE_VERSION = "0.38.25";
/** `ProtocolVersion.p2p` sent by CometBFT v0.38. */
export const P2P_PROTOCOL = 8;
/** `ProtocolVersion.block`: must equal the peer's or the handshake is refused. */
export const BLOCK_PROTOCOL = 11;
