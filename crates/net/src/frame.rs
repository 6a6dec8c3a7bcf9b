//! Length-prefixed postcard frames on QUIC streams, with a size cap so a hostile peer cannot
//! make us allocate without bound, and a body that must be exactly one message.

use iroh::endpoint::{RecvStream, SendStream};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream failed or closed early.
    #[error("connection lost: {0}")]
    Io(String),
    /// The announced frame is larger than allowed.
    #[error("frame of {len} bytes is over the {cap}-byte cap")]
    TooLarge {
        /// Announced length.
        len: u32,
        /// The cap.
        cap: u32,
    },
    /// The bytes are not a valid message.
    #[error("malformed message: {0}")]
    Decode(String),
}

/// Writes one message.
pub async fn write<T: Serialize>(send: &mut SendStream, msg: &T) -> Result<usize, FrameError> {
    let body = postcard::to_stdvec(msg).map_err(|e| FrameError::Decode(e.to_string()))?;
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge {
        len: u32::MAX,
        cap: u32::MAX,
    })?;
    send.write_all(&len.to_be_bytes())
        .await
        .map_err(|e| FrameError::Io(e.to_string()))?;
    send.write_all(&body)
        .await
        .map_err(|e| FrameError::Io(e.to_string()))?;
    Ok(4 + body.len())
}

/// Reads one message of at most `cap` bytes.
pub async fn read<T: DeserializeOwned>(recv: &mut RecvStream, cap: u32) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len)
        .await
        .map_err(|e| FrameError::Io(e.to_string()))?;
    let len = u32::from_be_bytes(len);
    if len > cap {
        return Err(FrameError::TooLarge { len, cap });
    }
    let mut body = vec![0u8; len as usize];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| FrameError::Io(e.to_string()))?;
    decode(&body)
}

/// Decodes one frame's body, which must be exactly one message: postcard would otherwise accept
/// a message followed by anything, and a frame of one shape could pass for another.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let (msg, rest) =
        postcard::take_from_bytes(body).map_err(|e| FrameError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(FrameError::Decode(format!(
            "{} bytes left over after the message",
            rest.len()
        )));
    }
    Ok(msg)
}
