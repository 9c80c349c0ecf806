//! The end of a listener. tonic skips every error its incoming stream yields
//! and polls again, so a listening socket that fails for good (shut down,
//! out of file descriptors) would spin its accept loop for ever while the
//! component looks alive. Here an error that concerns one connection is
//! skipped as tonic does, and any other ends the stream and is kept, so
//! [`Server::serve`](crate::Server::serve) returns it and the component stops.

use std::io;
use std::sync::{Arc, OnceLock};

use tokio_stream::{Stream, StreamExt};

/// The first error that ended a listener, shared with the stream that saw it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fatal(Arc<OnceLock<io::Error>>);

impl Fatal {
    /// The error that ended the listener, if one did.
    pub(crate) fn take(&self) -> Option<io::Error> {
        self.0.get().map(|error| io::Error::new(error.kind(), error.to_string()))
    }

    fn keep(&self, error: &io::Error) {
        let _ = self.0.set(io::Error::new(error.kind(), error.to_string()));
    }
}

/// Errors of one connection (tonic's own list): the listener is still good.
fn concerns_one_connection(error: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(error.kind(), ConnectionAborted | ConnectionReset | BrokenPipe | Interrupted | WouldBlock | TimedOut)
}

/// `incoming` until its first error that is not about one connection, which
/// `fatal` keeps.
pub(crate) fn until_fatal<S, IO>(incoming: S, fatal: Fatal) -> impl Stream<Item = io::Result<IO>>
where
    S: Stream<Item = io::Result<IO>>,
{
    incoming.take_while(move |accepted| match accepted {
        Err(error) if !concerns_one_connection(error) => {
            fatal.keep(error);
            false
        }
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_error_is_skipped_and_a_listener_error_ends_the_stream() {
        let accepted: Vec<io::Result<u8>> = vec![
            Ok(1),
            Err(io::Error::from(io::ErrorKind::ConnectionReset)),
            Ok(2),
            Err(io::Error::new(io::ErrorKind::InvalidInput, "the socket was shut down")),
            Ok(3),
        ];
        let fatal = Fatal::default();
        let seen: Vec<Option<u8>> =
            until_fatal(tokio_stream::iter(accepted), fatal.clone()).map(|accepted| accepted.ok()).collect().await;
        assert_eq!(seen, [Some(1), None, Some(2)]);
        let error = fatal.take().expect("the listener's error is kept");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "the socket was shut down");
    }
}
