//! The capability half of what confines a container: capability numbers and [`names`], a
//! [`set`] as the kernel masks it, the capabilities of executed files ([`file`]), a
//! process's five sets ([`process`]), and the [`report`] a recording becomes.

pub mod file;
pub mod names;
pub mod process;
pub mod report;
pub mod set;
