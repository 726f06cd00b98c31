// out[p] += v for f32 values held in atomic<u32>: compare-exchange on the bits.
fn add_cas(p: i32, v: f32) {
    var old = atomicLoad(&out[p]);
    loop {
        let r = atomicCompareExchangeWeak(&out[p], old, bitcast<u32>(bitcast<f32>(old) + v));
        if (r.exchanged) { break; }
        old = r.old_value;
    }
}
