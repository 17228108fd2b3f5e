//! A client for the server, with pipelining.

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::command::{Command, Reply};
use crate::error::{KvError, Result};
use crate::resp::{self, ReplyError};

/// A connection to a server started with [`serve`](crate::serve) (or to Redis itself).
///
/// [`pipeline`](Client::pipeline) sends many commands without waiting for each reply: the cost of
/// a network round trip is paid once per pipeline instead of once per command.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Reused between calls, so that encoding does not allocate every time.
    out: Vec<u8>,
}

impl Client {
    /// Connects to the server at `addr`.
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Client> {
        let socket = TcpStream::connect(addr)
            .await
            .map_err(KvError::Connection)?;
        // Requests leave in one write each; Nagle's algorithm would only delay them.
        socket.set_nodelay(true).map_err(KvError::Connection)?;
        let (reader, writer) = socket.into_split();
        Ok(Client {
            reader: BufReader::new(reader),
            writer,
            out: Vec::new(),
        })
    }

    /// Sends one command and waits for its reply: one round trip.
    pub async fn execute(&mut self, command: Command) -> Result<Reply> {
        let mut replies = self.pipeline(std::slice::from_ref(&command)).await?;
        replies
            .pop()
            .ok_or_else(|| KvError::Protocol("no reply to a command".to_owned()))
    }

    /// Sends all `commands` at once and returns their replies, in the same order.
    ///
    /// Replies are read while the commands are still being sent: a server answers as it goes,
    /// and a client that only read after sending everything could fill both directions' socket
    /// buffers on a long pipeline and wait forever. If the server answers any command with an
    /// error, every reply is still read (so the connection stays usable) and the first error is
    /// returned.
    pub async fn pipeline(&mut self, commands: &[Command]) -> Result<Vec<Reply>> {
        let Client {
            reader,
            writer,
            out,
        } = self;
        out.clear();
        for command in commands {
            resp::encode_command(command, out);
        }
        let send = async {
            writer.write_all(out).await.map_err(KvError::Connection)?;
            writer.flush().await.map_err(KvError::Connection)
        };
        let receive = async {
            let mut replies = Vec::with_capacity(commands.len());
            let mut first_error = None;
            for _ in commands {
                match resp::read_reply(reader).await {
                    Ok(Ok(reply)) => replies.push(reply),
                    Ok(Err(message)) => {
                        first_error.get_or_insert(message);
                    }
                    Err(ReplyError::Io(err)) => return Err(KvError::Connection(err)),
                    Err(err @ ReplyError::Unexpected(_)) => {
                        return Err(KvError::Protocol(err.to_string()));
                    }
                }
            }
            match first_error {
                Some(message) => Err(KvError::Server(message)),
                None => Ok(replies),
            }
        };
        let ((), replies) = tokio::try_join!(send, receive)?;
        Ok(replies)
    }
}
