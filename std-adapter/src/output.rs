//! Standard output for the `ccx` tools. A reader that stops early (`ccx decode … | head`) ends
//! the tool at once and without a word, as SIGPIPE ends a C tool, with the status a shell shows
//! for that (141); any other failure to write (a full disk) is said on standard error (status
//! 2) rather than lost. Rust ignores SIGPIPE, and `println!` panics on a closed pipe: every
//! tool prints through [`out!`](crate::out) / [`outln!`](crate::outln) or [`stdout`].

use std::io::{self, Write};

/// The status of a tool whose reader went away: 128 + SIGPIPE, what a shell reports for a C
/// tool killed by the signal.
pub const CLOSED_PIPE_STATUS: i32 = 141;

/// Standard output that never returns an error: it ends the process as the module says.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

/// Standard output, as [`Stdout`]; wrap it in a `BufWriter` for many small writes.
pub fn stdout() -> Stdout {
    Stdout
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = io::stdout().lock();
        match out.write_all(buf).and_then(|()| out.flush()) {
            Ok(()) => Ok(buf.len()),
            Err(e) => end_on_write_error(&e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush().or_else(|e| end_on_write_error(&e))
    }
}

/// Ends the process after a failed write to standard output (see the module).
pub fn end_on_write_error(error: &io::Error) -> ! {
    if error.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_PIPE_STATUS);
    }
    eprintln!("ccx: cannot write to standard output: {error}");
    std::process::exit(2);
}

/// `print!` that ends the tool quietly when its reader has gone (see [`output`](crate::output)).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = write!($crate::output::stdout(), $($arg)*);
    }};
}

/// `println!` that ends the tool quietly when its reader has gone (see [`output`](crate::output)).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = writeln!($crate::output::stdout(), $($arg)*);
    }};
}
