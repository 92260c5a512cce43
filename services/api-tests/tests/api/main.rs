//! The integration tests of write-api and read-api, one binary (one build, one link, one
//! shared cluster): `Stack::start` puts both services in front of the binary's shared MariaDB
//! primary and replica; tests that stop replication or servers, or change the schema, take a
//! cluster of their own with `Stack::start_on_own_cluster`.

mod abuse;
mod accounts;
mod auth;
mod consistency;
mod faults;
mod fuzz;
mod limits;
mod observability;
mod read_contract;
mod round_trips;
mod write_contract;
