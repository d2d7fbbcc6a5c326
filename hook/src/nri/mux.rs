//! NRI's multiplexer: the one unix socket to the runtime carries two ttrpc connections, each
//! frame headed by 8 bytes (connection ID, payload length; big-endian). Connection 1 carries
//! the plugin's service (the runtime calls us), connection 2 the runtime's (we call it). Each
//! comes out as an in-memory stream the ttrpc crate serves or calls over as if it were a
//! socket of its own.

use std::io;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf},
    net::{unix::OwnedWriteHalf, UnixStream},
    sync::mpsc,
    task::JoinHandle,
};

/// The connection the plugin's service is served on.
pub const PLUGIN_CONN: u32 = 1;
/// The connection the runtime's service is called on.
pub const RUNTIME_CONN: u32 = 2;
/// Larger than any ttrpc message (10-byte header, 4 MiB body).
const MAX_PAYLOAD: usize = 10 + (4 << 20);
/// How much of a connection's stream goes into one frame at most.
const CHUNK: usize = 64 << 10;

/// The two connections, and the task that moves frames until the runtime hangs up; it ends
/// with `Ok` when the socket was closed, with the error otherwise.
pub struct Split {
    pub plugin: DuplexStream,
    pub runtime: DuplexStream,
    pub trunk: JoinHandle<io::Result<()>>,
}

/// Splits `trunk` into its two connections.
pub fn split(trunk: UnixStream) -> Split {
    let (read, write) = trunk.into_split();
    let (frames_tx, frames_rx) = mpsc::channel::<(u32, Vec<u8>)>(64);
    let (plugin, plugin_ours) = tokio::io::duplex(MAX_PAYLOAD);
    let (runtime, runtime_ours) = tokio::io::duplex(MAX_PAYLOAD);
    let (plugin_read, plugin_write) = tokio::io::split(plugin_ours);
    let (runtime_read, runtime_write) = tokio::io::split(runtime_ours);
    tokio::spawn(outgoing(PLUGIN_CONN, plugin_read, frames_tx.clone()));
    tokio::spawn(outgoing(RUNTIME_CONN, runtime_read, frames_tx));
    let writer = tokio::spawn(write_frames(write, frames_rx));
    let trunk = tokio::spawn(async move {
        let result = read_frames(read, plugin_write, runtime_write).await;
        writer.abort();
        result
    });
    Split {
        plugin,
        runtime,
        trunk,
    }
}

/// What one connection writes, cut into frames for the writer.
async fn outgoing(id: u32, mut from: ReadHalf<DuplexStream>, to: mpsc::Sender<(u32, Vec<u8>)>) {
    let mut buf = vec![0; CHUNK];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        if to.send((id, buf[..n].to_vec())).await.is_err() {
            return;
        }
    }
}

/// Writes each frame, header then payload, in the order the connections produced them.
async fn write_frames(
    mut trunk: OwnedWriteHalf,
    mut frames: mpsc::Receiver<(u32, Vec<u8>)>,
) -> io::Result<()> {
    while let Some((id, payload)) = frames.recv().await {
        trunk.write_all(&header(id, payload.len())).await?;
        trunk.write_all(&payload).await?;
    }
    Ok(())
}

/// The 8-byte header of a frame of `len` bytes for connection `id`.
pub fn header(id: u32, len: usize) -> [u8; 8] {
    let mut header = [0; 8];
    header[..4].copy_from_slice(&id.to_be_bytes());
    header[4..].copy_from_slice(&(len as u32).to_be_bytes());
    header
}

/// Hands each frame's payload to its connection until the runtime closes the socket.
async fn read_frames(
    mut trunk: tokio::net::unix::OwnedReadHalf,
    mut plugin: WriteHalf<DuplexStream>,
    mut runtime: WriteHalf<DuplexStream>,
) -> io::Result<()> {
    let mut header = [0; 8];
    loop {
        match trunk.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let (id, len) = parse_header(&header)?;
        let mut payload = vec![0; len];
        trunk.read_exact(&mut payload).await?;
        match id {
            PLUGIN_CONN => plugin.write_all(&payload).await?,
            RUNTIME_CONN => runtime.write_all(&payload).await?,
            // NRI reserves 0; other IDs are for connections neither side opened here.
            _ => log::debug!("NRI frame for unknown connection {id} dropped"),
        }
    }
}

/// The connection ID and payload length of a frame header; a length past any ttrpc message
/// means the two sides do not speak the same protocol.
pub fn parse_header(header: &[u8; 8]) -> io::Result<(u32, usize)> {
    let id = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a frame of {len} bytes: the runtime does not speak NRI's multiplexed protocol"
            ),
        ));
    }
    Ok((id, len))
}
