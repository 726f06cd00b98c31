// exp/log/sin/cos used by num_float.wgsl: the f32 builtins.
fn exp_(x: f32) -> f32 { return exp(x); }
fn log_(x: f32) -> f32 { return log(x); }
fn sin_(x: f32) -> f32 { return sin(x); }
fn cos_(x: f32) -> f32 { return cos(x); }
