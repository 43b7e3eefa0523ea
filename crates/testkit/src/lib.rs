//! Real servers and network faults for shipgate's tests.
//!
//! Every server starts from the machine's Debian packages in its own temporary
//! directory, on a free port of 127.0.0.1, and is stopped and deleted when its handle
//! drops. Nothing is shared between tests, so they run in parallel.
//!
//! | type | package | ready when |
//! |------|---------|-----------|
//! | [`Postgres`] | `postgresql` | the log says it accepts connections |
//! | [`MariaDb`] | `mariadb-server` | the log says it is ready for connections |
//! | [`Redis`] | `redis-server` | `PING` answers `+PONG` |
//! | [`Nginx`] | `nginx` | `GET /` answers |
//! | [`Osmem`] | `osmem-server` (PyPI) | it prints its address |
//! | [`Smtp`] | `aiosmtpd` (PyPI) | it sends its 220 banner |
//! | [`Moto`] | `moto[server]` (PyPI) | `GET /moto-api/` answers |
//! | [`Prometheus`] | `prometheus` | `/-/ready` answers 200 |
//! | [`Alertmanager`] | `prometheus-alertmanager` | `/-/ready` answers 200 |
//!
//! When a binary is missing, `start` fails with [`ErrorKind::MissingBinary`] and a
//! message naming the package to install. Tests must `expect` it, never skip.
//! [`NEEDS`] lists every package the suite needs, pinned; `cargo xtask setup` installs
//! from it.
//!
//! Fault fixtures for timeouts and error handling: [`RefusingPort`] (connections are
//! refused), [`BlackHole`] (accepts, never answers), [`CloseMidResponse`] (sends half an
//! HTTP response, then closes). [`SlotProcesses`]: the processes a blue/green
//! deployment started, killed when the test ends and checked to be gone.
//!
//! ```no_run
//! let redis = shipgate_testkit::Redis::start().expect("redis-server");
//! println!("redis at {}", redis.url());
//! let hole = shipgate_testkit::BlackHole::start().unwrap();
//! println!("connect to {} and wait forever", hole.addr());
//! ```

pub mod browser;
mod error;
mod faults;
pub mod junit;
mod mariadb;
mod moto;
pub mod moto_shop;
pub mod needs;
mod nginx;
mod osmem;
mod postgres;
mod process;
mod prometheus;
mod redis;
mod slots;
mod smtp;

pub use error::{Error, ErrorKind};
pub use faults::{BlackHole, CloseMidResponse, PARTIAL_BODY, RefusingPort};
pub use mariadb::MariaDb;
pub use moto::{Moto, MotoBuilder, xml_values};
pub use needs::{NEEDS, Need, Source, locate, missing_message};
pub use nginx::{DEFAULT_INDEX, Nginx, NginxBuilder};
pub use osmem::Osmem;
pub use postgres::Postgres;
pub use process::free_port;
pub use prometheus::{Alertmanager, Prometheus, PrometheusBuilder};
pub use redis::Redis;
pub use slots::{SlotProcesses, running, running_after_wait};
pub use smtp::Smtp;
