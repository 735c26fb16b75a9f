use super::*;

#[test]
fn the_cap_fits_the_descriptors_left_after_the_reserve() {
    assert_eq!(fitting_cap(4096, 64, 1, 1024), 960);
    assert_eq!(fitting_cap(4096, 64, 2, 1024), 480);
    assert_eq!(fitting_cap(100, 64, 1, 1_000_000), 100);
    // Never zero: one connection still gets served.
    assert_eq!(fitting_cap(4096, 64, 1, 10), 1);
}

#[test]
fn zero_limits_are_refused_and_the_read_buffer_follows_the_header_limit() {
    let c = GatewayConfig::default();
    let (main, ops) = ConnectionLimits::from_config(&c).unwrap();
    assert_eq!(main.header_read_timeout, Duration::from_secs(10));
    assert_eq!(main.idle_timeout, Duration::from_secs(60));
    assert_eq!(main.max_connections, 4096);
    assert_eq!(ops.max_connections, 64);
    assert_eq!(main.read_buffer, 64 * 1024);
    let big = GatewayConfig {
        max_header_bytes: 32 * 1024,
        ..GatewayConfig::default()
    };
    assert_eq!(
        ConnectionLimits::from_config(&big).unwrap().0.read_buffer,
        128 * 1024
    );
    for broken in [
        GatewayConfig {
            header_read_timeout_ms: 0,
            ..GatewayConfig::default()
        },
        GatewayConfig {
            idle_timeout_ms: 0,
            ..GatewayConfig::default()
        },
        GatewayConfig {
            max_connections: 0,
            ..GatewayConfig::default()
        },
    ] {
        assert!(ConnectionLimits::from_config(&broken).is_err());
    }
}
