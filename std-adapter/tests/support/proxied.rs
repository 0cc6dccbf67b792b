//! The demo story with `ccx proxy` between the phone and the simulator: the captures and
//! trace-output tests take their traffic from it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ccx_cti_std::demo::{self, DemoOptions, DemoReport};
use ccx_cti_std::wiretools::proxy::{self, ProxyArgs};

/// Runs the demo through a proxy that writes its trace text to `trace` and, with `pcap`, a
/// capture cut in TCP segments of `segment_size` bytes; returns once the proxy's session has
/// ended, with the demo's report (checked complete) and the simulator's address.
pub fn demo_through_proxy(
    pcap: Option<&Path>,
    trace: Box<dyn Write + Send>,
    segment_size: usize,
) -> (DemoReport, SocketAddr) {
    let trace = Mutex::new(Some(trace));
    let holder = Mutex::new(None);
    let opts = DemoOptions {
        trace: false,
        ..DemoOptions::default()
    };
    let report = demo::run_via(&opts, &mut std::io::sink(), &|sim: SocketAddr| {
        let args = ProxyArgs {
            listen: "127.0.0.1:0".into(),
            server: sim.to_string(),
            pcap: pcap.map(Path::to_path_buf),
            flow: None,
            protocol_version: 17,
            v18_length_width: 1,
            show_secrets: false,
            segment_size,
            connections: None,
        };
        let out = trace
            .lock()
            .unwrap()
            .take()
            .expect("the demo connects once");
        let p = proxy::start(&args, out).unwrap();
        let addr = p.addr();
        *holder.lock().unwrap() = Some((p, sim));
        addr
    });
    assert!(report.completed(), "{:?}", report.failure);
    let (p, sim) = holder.lock().unwrap().take().unwrap();
    let end = Instant::now() + Duration::from_secs(15);
    while p.finished() < 1 {
        assert!(Instant::now() < end, "the proxy's session did not end");
        std::thread::sleep(Duration::from_millis(10));
    }
    p.stop();
    (report, sim)
}
