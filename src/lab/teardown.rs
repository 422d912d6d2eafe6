//! stub
use super::Lab;
use crate::error::Result;

pub fn labs() -> Vec<Lab> {
    vec![]
}

pub fn child_main(_lab: &str, _mode: &str) -> Result<()> {
    Ok(())
}
