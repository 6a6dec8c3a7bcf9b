//! Length-prefixed postcard frames on QUIC streams, with a size cap so a hostile peer cannot
//! make us allocate without bound, and a body that must be exactly one message.

use iroh::endpoint::{ConnectionError, ReadExactError, RecvStream, SendStream, WriteError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream failed or closed early. iroh's own words say how ("connection lost: closed
    /// by peer: …", "stream finished early").
    #[error(transparent)]
    Io(StreamError),
    /// The announced frame is larger than allowed.
    #[error("frame of {len} bytes is over the {cap}-byte cap")]
    TooLarge {
        /// Announced length.
        len: u32,
        /// The cap.
        cap: u32,
    },
    /// The bytes are not a valid message.
    #[error("malformed message")]
    Decode(#[source] DecodeError),
    /// A message could not be encoded (tapin's own messages always can).
    #[error("cannot encode a message")]
    Encode(#[source] postcard::Error),
}

/// How a stream failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading failed, or the stream ended before the frame did.
    #[error(transparent)]
    Read(#[from] ReadExactError),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The connection failed before a stream could be opened or accepted.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}

impl From<ConnectionError> for FrameError {
    fn from(err: ConnectionError) -> Self {
        FrameError::Io(err.into())
    }
}

/// Why bytes are not one valid message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// They do not decode.
    #[error(transparent)]
    Postcard(#[from] postcard::Error),
    /// A message decoded, with bytes after it.
    #[error("{0} bytes left over after the message")]
    LeftOver(usize),
}

/// Writes one message.
pub async fn write<T: Serialize>(send: &mut SendStream, msg: &T) -> Result<usize, FrameError> {
    let body = postcard::to_stdvec(msg).map_err(FrameError::Encode)?;
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge {
        len: u32::MAX,
        cap: u32::MAX,
    })?;
    send.write_all(&len.to_be_bytes())
        .await
        .map_err(|e| FrameError::Io(e.into()))?;
    send.write_all(&body)
        .await
        .map_err(|e| FrameError::Io(e.into()))?;
    Ok(4 + body.len())
}

/// Reads one message of at most `cap` bytes.
pub async fn read<T: DeserializeOwned>(recv: &mut RecvStream, cap: u32) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len)
        .await
        .map_err(|e| FrameError::Io(e.into()))?;
    let len = u32::from_be_bytes(len);
    if len > cap {
        return Err(FrameError::TooLarge { len, cap });
    }
    let mut body = vec![0u8; len as usize];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| FrameError::Io(e.into()))?;
    decode(&body)
}

/// Decodes one frame's body, which must be exactly one message: postcard would otherwise accept
/// a message followed by anything, and a frame of one shape could pass for another.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let (msg, rest) = postcard::take_from_bytes(body).map_err(|e| FrameError::Decode(e.into()))?;
    if !rest.is_empty() {
        return Err(FrameError::Decode(DecodeError::LeftOver(rest.len())));
    }
    Ok(msg)
}
