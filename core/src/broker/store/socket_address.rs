//! A host as RocketMQ writes it into records and message ids: the raw IP bytes followed by the port
//! as a 4-byte big-endian int (`MessageExt.socketAddress2ByteBuffer`).
//!
//! IPv4 takes 4 + 4 = 8 bytes, IPv6 16 + 4 = 20 bytes; the reader learns which from the
//! `BORNHOST_V6_FLAG` / `STOREHOSTADDRESS_V6_FLAG` bits of the sys flag, or from the id length.
//! The port is kept as the `i32` that is on disk: Java's `InetSocketAddress` only accepts
//! 0..=65535, but recovery never parses the host, so a record with a strange port is still a
//! valid record. Parsing text ([`SocketAddress::parse`]) is a boundary and does validate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// An IP address and port in RocketMQ's on-disk form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketAddress {
    pub ip: IpAddr,
    /// The 4-byte port field; a real `InetSocketAddress` keeps it in 0..=65535.
    pub port: i32,
}

/// Text that is not `IPv4:port` or `[IPv6]:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressParseError {
    pub input: String,
}

impl std::fmt::Display for AddressParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a host address; expected IPv4:PORT like 192.168.0.1:10911 or [IPv6]:PORT like [::1]:10911, \
             with a port in 0..=65535",
            self.input
        )
    }
}

impl std::error::Error for AddressParseError {}

impl SocketAddress {
    pub fn new(ip: IpAddr, port: u16) -> Self {
        SocketAddress { ip, port: i32::from(port) }
    }

    /// `a.b.c.d:port`, the most common form in tests and scenarios.
    pub fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> Self {
        Self::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port)
    }

    /// Parses `192.168.0.1:10911` or `[fe80::1]:10911`.
    pub fn parse(text: &str) -> Result<Self, AddressParseError> {
        SocketAddr::from_str(text.trim())
            .map(|address| Self::new(address.ip(), address.port()))
            .map_err(|_| AddressParseError { input: text.to_string() })
    }

    pub fn is_ipv6(&self) -> bool {
        self.ip.is_ipv6()
    }

    /// The raw address bytes: 4 for IPv4, 16 for IPv6 (`InetAddress.getAddress()`).
    pub fn ip_bytes(&self) -> Vec<u8> {
        match self.ip {
            IpAddr::V4(ip) => ip.octets().to_vec(),
            IpAddr::V6(ip) => ip.octets().to_vec(),
        }
    }

    /// 8 for IPv4, 20 for IPv6: the width of a host field in a record.
    pub fn encoded_len(&self) -> u32 {
        if self.is_ipv6() {
            20
        } else {
            8
        }
    }

    /// Appends IP bytes then the port as a big-endian int.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // Straight from the octets: every record encodes two hosts, so no temporary Vec.
        match self.ip {
            IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
            IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
        }
        out.extend_from_slice(&self.port.to_be_bytes());
    }

    /// The reverse of [`encode_into`](Self::encode_into); `bytes` must be exactly 8 or 20 long.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (ip, port) = match bytes.len() {
            8 => {
                let octets: [u8; 4] = bytes[..4].try_into().ok()?;
                (IpAddr::from(octets), &bytes[4..])
            }
            20 => {
                let octets: [u8; 16] = bytes[..16].try_into().ok()?;
                (IpAddr::from(octets), &bytes[16..])
            }
            _ => return None,
        };
        Some(SocketAddress { ip, port: i32::from_be_bytes(port.try_into().ok()?) })
    }
}

impl std::fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            // Written digit by digit: every consumed message formats two hosts (MessageExt's born and store
            // hosts), and `Ipv4Addr`'s own Display was a few percent of a whole run.
            IpAddr::V4(ip) => {
                for (index, octet) in ip.octets().into_iter().enumerate() {
                    if index > 0 {
                        f.write_str(".")?;
                    }
                    write_decimal(f, u32::from(octet))?;
                }
                f.write_str(if self.port < 0 { ":-" } else { ":" })?;
                write_decimal(f, self.port.unsigned_abs())
            }
            IpAddr::V6(ip) => write!(f, "[{}]:{}", ip, self.port),
        }
    }
}

fn write_decimal(f: &mut std::fmt::Formatter<'_>, value: u32) -> std::fmt::Result {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    f.write_str(std::str::from_utf8(&digits[start..]).expect("ASCII digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_reads_as_java_writes_it_ip_then_port() {
        for (ip, port) in
            [([0, 0, 0, 0], 0), ([192, 168, 0, 1], 10911), ([255, 255, 255, 255], 65535), ([10, 0, 9, 100], 7)]
        {
            let host = SocketAddress::v4(ip[0], ip[1], ip[2], ip[3], port);
            assert_eq!(host.to_string(), format!("{}:{port}", Ipv4Addr::from(ip)));
        }
        let odd = SocketAddress { ip: IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)), port: i32::MIN };
        assert_eq!(odd.to_string(), "1.2.3.4:-2147483648", "a strange port read from disk is shown as it is");
        let v6 = SocketAddress::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 10911);
        assert_eq!(v6.to_string(), "[::1]:10911");
    }

    #[test]
    fn ipv4_host_is_four_address_bytes_then_a_four_byte_port() {
        let mut out = Vec::new();
        SocketAddress::v4(192, 168, 0, 1, 10911).encode_into(&mut out);
        assert_eq!(out, [192, 168, 0, 1, 0, 0, 0x2A, 0x9F]);
        assert_eq!(SocketAddress::decode(&out), Some(SocketAddress::v4(192, 168, 0, 1, 10911)));
    }

    #[test]
    fn ipv6_host_is_twenty_bytes() {
        let host = SocketAddress::parse("[fe80::1]:10911").unwrap();
        let mut out = Vec::new();
        host.encode_into(&mut out);
        assert_eq!(out.len(), 20);
        assert_eq!(host.encoded_len(), 20);
        assert_eq!(SocketAddress::decode(&out), Some(host));
        assert_eq!(host.to_string(), "[fe80::1]:10911");
    }

    #[test]
    fn parse_rejects_missing_port_hostnames_and_ports_above_65535() {
        assert!(SocketAddress::parse("192.168.0.1").is_err());
        assert!(SocketAddress::parse("broker-a:10911").is_err());
        assert!(SocketAddress::parse("192.168.0.1:65536").is_err());
        assert!(SocketAddress::parse("fe80::1:10911").is_err());
        assert_eq!(SocketAddress::parse(" 10.0.0.7:9876 ").unwrap(), SocketAddress::v4(10, 0, 0, 7, 9876));
    }
}
