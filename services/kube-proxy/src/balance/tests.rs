//! Table-driven tests of the balancing rules.

use super::*;
use std::time::Duration;

fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, last], 80))
}

fn client(last: u8) -> IpAddr {
    IpAddr::from([192, 168, 0, last])
}

fn picks(b: &mut Balancer, n: usize) -> Vec<u8> {
    let now = Instant::now();
    (0..n)
        .map(|_| match b.candidates(client(1), now).first() {
            Some(SocketAddr::V4(a)) => a.ip().octets()[3],
            _ => 0,
        })
        .collect()
}

#[test]
fn round_robin_rotations() {
    struct Case {
        name: &'static str,
        before: &'static [u8],
        picks_before: usize,
        after: &'static [u8],
        want: &'static [u8],
    }
    let cases = [
        Case { name: "plain cycle", before: &[1, 2, 3], picks_before: 0, after: &[1, 2, 3], want: &[1, 2, 3, 1, 2, 3] },
        Case {
            name: "unsorted input sorts once",
            before: &[3, 1, 2],
            picks_before: 0,
            after: &[3, 1, 2],
            want: &[1, 2, 3, 1],
        },
        Case { name: "removal keeps position", before: &[1, 2, 3], picks_before: 1, after: &[1, 3], want: &[3, 1, 3] },
        Case { name: "removal of last picked", before: &[1, 2, 3], picks_before: 2, after: &[1, 3], want: &[3, 1, 3] },
        Case {
            name: "addition joins the end",
            before: &[1, 2],
            picks_before: 1,
            after: &[4, 2, 1],
            want: &[2, 4, 1, 2],
        },
        Case {
            name: "reorder does not reset",
            before: &[1, 2, 3],
            picks_before: 2,
            after: &[3, 2, 1],
            want: &[3, 1, 2],
        },
        Case { name: "all gone", before: &[1, 2], picks_before: 1, after: &[], want: &[0, 0] },
    ];
    for case in cases {
        let mut b = Balancer::new(Algorithm::RoundRobin, None, Some(1));
        b.set_backends(&case.before.iter().map(|l| addr(*l)).collect::<Vec<_>>());
        picks(&mut b, case.picks_before);
        b.set_backends(&case.after.iter().map(|l| addr(*l)).collect::<Vec<_>>());
        assert_eq!(picks(&mut b, case.want.len()), case.want, "{}", case.name);
    }
}

#[test]
fn candidates_list_every_backend_once() {
    let mut b = Balancer::new(Algorithm::RoundRobin, None, Some(1));
    b.set_backends(&[addr(1), addr(2), addr(3)]);
    b.candidates(client(1), Instant::now());
    assert_eq!(b.candidates(client(1), Instant::now()), vec![addr(2), addr(3), addr(1)]);
}

#[test]
fn random_is_uniform_chi_square() {
    let mut b = Balancer::new(Algorithm::Random, None, Some(42));
    let backends: Vec<_> = (1..=5).map(addr).collect();
    b.set_backends(&backends);
    let n = 50_000usize;
    let mut counts = [0usize; 5];
    for last in picks(&mut b, n) {
        counts[usize::from(last) - 1] += 1;
    }
    let expected = n as f64 / 5.0;
    let chi2: f64 = counts.iter().map(|c| (*c as f64 - expected).powi(2) / expected).sum();
    // 4 degrees of freedom: p = 0.001 is at 18.47; be generous.
    assert!(chi2 < 25.0, "chi-square {chi2} for {counts:?}");
}

#[test]
fn client_ip_affinity_pins_until_timeout_or_backend_goes() {
    let start = Instant::now();
    let mut b = Balancer::new(Algorithm::RoundRobin, Some(Affinity::new(Duration::from_secs(10))), Some(1));
    b.set_backends(&[addr(1), addr(2), addr(3)]);
    let first = b.candidates(client(1), start)[0];
    for s in 1..20 {
        // each use refreshes the pin
        assert_eq!(b.candidates(client(1), start + Duration::from_secs(s))[0], first);
    }
    // another client is not pinned to the same backend by round-robin
    assert_ne!(b.candidates(client(2), start)[0], first);
    // timeout after the last use
    let later = start + Duration::from_secs(19 + 10);
    let after_timeout = b.candidates(client(1), later)[0];
    assert_ne!(after_timeout, first);
    // the pinned backend goes: a new one is chosen and pinned
    let rest: Vec<_> = [addr(1), addr(2), addr(3)].into_iter().filter(|a| *a != after_timeout).collect();
    b.set_backends(&rest);
    let moved = b.candidates(client(1), later)[0];
    assert!(rest.contains(&moved));
    assert_eq!(b.candidates(client(1), later)[0], moved);
}

#[test]
fn algorithm_names_parse() {
    for (text, want) in
        [("round-robin", Some(Algorithm::RoundRobin)), ("random", Some(Algorithm::Random)), ("rr", None)]
    {
        assert_eq!(text.parse::<Algorithm>().ok(), want, "{text}");
    }
}
