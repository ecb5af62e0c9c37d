//! The reserved local port: a bound, never-listening socket held for the
//! tunnel's whole life so that no `bind(0)` elsewhere is handed the port.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

/// A port on 127.0.0.1 held by a socket that kubectl's listeners can share.
#[derive(Debug)]
pub struct Reservation {
    /// Held, never listening: SO_REUSEADDR on both sides lets kubectl's Go
    /// listeners bind the same port, while Linux skips it in automatic
    /// selection. socket2 opens it close-on-exec, so kubectl never inherits it.
    socket: Socket,
    port: u16,
}

impl Reservation {
    /// Binds a fresh socket to `127.0.0.1:0` with SO_REUSEADDR.
    pub fn new() -> io::Result<Reservation> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        let port = socket
            .local_addr()?
            .as_socket()
            .map(|addr| addr.port())
            .ok_or_else(|| io::Error::other("reserved socket has no inet address"))?;
        Ok(Reservation { socket, port })
    }

    /// The reserved port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes the socket, releasing the port.
    pub fn release(self) {
        drop(self.socket);
    }
}
