// Frame blending and colour conversion for stackscope's exporter.
//
// Frames travel as bytes packed four to a u32 (little-endian), so every invocation handles one
// word. Both kernels use integer arithmetic identical to the CPU code in src/interp, so the
// results match it bit for bit.

// ---- blend: out = (a * (256 - w) + b * w + 128) >> 8 per byte -------------------------------

struct BlendParams {
    weight: u32,
    words: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> frame_a: array<u32>;
@group(0) @binding(1) var<storage, read> frame_b: array<u32>;
@group(0) @binding(2) var<storage, read_write> blended: array<u32>;
@group(0) @binding(3) var<uniform> blend_params: BlendParams;

@compute @workgroup_size(256)
fn blend(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * 65535u * 256u;
    if (i >= blend_params.words) {
        return;
    }
    let wb = blend_params.weight;
    let wa = 256u - wb;
    let x = frame_a[i];
    let y = frame_b[i];
    var r = 0u;
    for (var k = 0u; k < 4u; k = k + 1u) {
        let s = k * 8u;
        let va = (x >> s) & 255u;
        let vb = (y >> s) & 255u;
        r = r | ((((va * wa + vb * wb + 128u) >> 8u) & 255u) << s);
    }
    blended[i] = r;
}

// ---- convert: h × w × c bytes (c = 1 or 3) → Y, U, V planes, BT.601 limited range ----------

struct ConvertParams {
    // Output size (even).
    width: u32,
    height: u32,
    // Source bytes per row and per pixel.
    src_row_bytes: u32,
    src_channels: u32,
    // Output words to write.
    words: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(4) var<storage, read> source: array<u32>;
@group(0) @binding(5) var<storage, read_write> planes: array<u32>;
@group(0) @binding(6) var<uniform> convert_params: ConvertParams;

fn source_byte(index: u32) -> i32 {
    return i32((source[index >> 2u] >> ((index & 3u) * 8u)) & 255u);
}

fn rgb_at(x: u32, y: u32) -> vec3<i32> {
    let base = y * convert_params.src_row_bytes + x * convert_params.src_channels;
    if (convert_params.src_channels == 1u) {
        let v = source_byte(base);
        return vec3<i32>(v, v, v);
    }
    return vec3<i32>(source_byte(base), source_byte(base + 1u), source_byte(base + 2u));
}

fn plane_byte(j: u32) -> u32 {
    let w = convert_params.width;
    let luma = w * convert_params.height;
    if (j < luma) {
        let p = rgb_at(j % w, j / w);
        return u32(16 + ((66 * p.x + 129 * p.y + 25 * p.z + 128) >> 8u));
    }
    var k = j - luma;
    let quarter = luma / 4u;
    let is_v = k >= quarter;
    if (is_v) {
        k = k - quarter;
    }
    let half_w = w / 2u;
    let cx = (k % half_w) * 2u;
    let cy = (k / half_w) * 2u;
    let sum = rgb_at(cx, cy) + rgb_at(cx + 1u, cy) + rgb_at(cx, cy + 1u) + rgb_at(cx + 1u, cy + 1u);
    let c = (sum + vec3<i32>(2, 2, 2)) / 4;
    if (is_v) {
        return u32(128 + ((112 * c.x - 94 * c.y - 18 * c.z + 128) >> 8u));
    }
    return u32(128 + ((-38 * c.x - 74 * c.y + 112 * c.z + 128) >> 8u));
}

@compute @workgroup_size(256)
fn convert(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * 65535u * 256u;
    if (i >= convert_params.words) {
        return;
    }
    let total = convert_params.width * convert_params.height * 3u / 2u;
    var r = 0u;
    for (var k = 0u; k < 4u; k = k + 1u) {
        let j = i * 4u + k;
        if (j < total) {
            r = r | ((plane_byte(j) & 255u) << (k * 8u));
        }
    }
    planes[i] = r;
}
