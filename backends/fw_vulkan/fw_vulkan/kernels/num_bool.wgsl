// Helpers for bool, held as u32 0 / 1.
fn isnan_(x: u32) -> bool { return false; }
fn maxv(a: u32, b: u32) -> u32 { return a | b; }
fn minv(a: u32, b: u32) -> u32 { return a & b; }
