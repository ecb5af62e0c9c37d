//! The console protocol, spoken to the real Python server and client.
