//! Ctrl-C and SIGTERM, caught so that the provider tears down before dbgate exits.

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::error::Error;

/// Ctrl-C and SIGTERM, caught so that cleanup runs before exit.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    pub fn install() -> Result<Signals, Error> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).map_err(Error::Signals)?,
            terminate: signal(SignalKind::terminate()).map_err(Error::Signals)?,
        })
    }

    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C (SIGINT)",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
