//! Just enough of the protocol-buffer wire format to read a TensorFlow `GraphDef` and write
//! an ONNX `ModelProto`, the two formats the SSD converter joins. A message is a sequence of
//! (field number, wire type) keys, each followed by a varint, a fixed 32/64-bit value or a
//! length-delimited payload (strings, bytes, nested messages and packed repeated numbers).

use super::error::AnalyzeError;

fn err(msg: impl Into<String>) -> AnalyzeError {
    AnalyzeError::Convert(msg.into())
}

/// One field of a message, its payload borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Value<'a> {
    pub fn bytes(self) -> Result<&'a [u8], AnalyzeError> {
        match self {
            Self::Bytes(b) => Ok(b),
            other => Err(err(format!(
                "expected a length-delimited field, got {other:?}"
            ))),
        }
    }

    pub fn string(self) -> Result<String, AnalyzeError> {
        Ok(String::from_utf8_lossy(self.bytes()?).into_owned())
    }

    pub fn varint(self) -> Result<u64, AnalyzeError> {
        match self {
            Self::Varint(v) => Ok(v),
            other => Err(err(format!("expected a varint field, got {other:?}"))),
        }
    }

    pub fn float(self) -> Result<f32, AnalyzeError> {
        match self {
            Self::Fixed32(v) => Ok(f32::from_bits(v)),
            other => Err(err(format!("expected a 32-bit float field, got {other:?}"))),
        }
    }

    /// Repeated integers, packed (one payload) or not (one varint per field).
    pub fn push_ints(self, out: &mut Vec<i64>) -> Result<(), AnalyzeError> {
        match self {
            Self::Varint(v) => out.push(v as i64),
            Self::Bytes(mut b) => {
                while !b.is_empty() {
                    out.push(read_varint(&mut b)? as i64);
                }
            }
            other => return Err(err(format!("expected integers, got {other:?}"))),
        }
        Ok(())
    }

    /// Repeated floats, packed or not.
    pub fn push_floats(self, out: &mut Vec<f32>) -> Result<(), AnalyzeError> {
        match self {
            Self::Fixed32(v) => out.push(f32::from_bits(v)),
            Self::Bytes(b) => {
                if b.len() % 4 != 0 {
                    return Err(err("packed floats of a length not a multiple of 4"));
                }
                out.extend(
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
            other => return Err(err(format!("expected floats, got {other:?}"))),
        }
        Ok(())
    }
}

fn read_varint(b: &mut &[u8]) -> Result<u64, AnalyzeError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b
            .split_first()
            .ok_or_else(|| err("a varint runs past the end of its message"))?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(err("a varint longer than 10 bytes"))
}

/// The fields of one message, in order; every length is checked against the buffer.
pub fn fields(mut b: &[u8]) -> impl Iterator<Item = Result<(u32, Value<'_>), AnalyzeError>> {
    std::iter::from_fn(move || {
        if b.is_empty() {
            return None;
        }
        Some((|| {
            let key = read_varint(&mut b)?;
            let field = u32::try_from(key >> 3).map_err(|_| err("field number out of range"))?;
            fn take<'a>(b: &mut &'a [u8], n: usize, field: u32) -> Result<&'a [u8], AnalyzeError> {
                if n > b.len() {
                    return Err(err(format!(
                        "field {field} claims {n} bytes, {} are left",
                        b.len()
                    )));
                }
                let (head, rest) = b.split_at(n);
                *b = rest;
                Ok(head)
            }
            let value = match key & 7 {
                0 => Value::Varint(read_varint(&mut b)?),
                1 => {
                    let s = take(&mut b, 8, field)?;
                    Value::Fixed64(u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
                }
                2 => {
                    let n = usize::try_from(read_varint(&mut b)?)
                        .map_err(|_| err("length out of range"))?;
                    Value::Bytes(take(&mut b, n, field)?)
                }
                5 => {
                    let s = take(&mut b, 4, field)?;
                    Value::Fixed32(u32::from_le_bytes(s.try_into().unwrap_or([0; 4])))
                }
                wire => return Err(err(format!("unsupported wire type {wire}"))),
            };
            Ok((field, value))
        })())
    })
}

/// A message being written.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    pub fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    pub fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
        self
    }

    pub fn string(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }

    pub fn message(&mut self, field: u32, m: &Writer) -> &mut Self {
        self.bytes(field, &m.buf)
    }

    /// Repeated integers, one field each (ONNX's schema is proto2: not packed).
    pub fn ints(&mut self, field: u32, v: &[i64]) -> &mut Self {
        for &x in v {
            self.int(field, x);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let mut inner = Writer::default();
        inner.string(1, "conv").int(3, -1);
        let mut w = Writer::default();
        w.int(1, 300)
            .float(2, 0.5)
            .message(5, &inner)
            .ints(8, &[1, 2, 3]);
        let got: Vec<(u32, Value)> = fields(&w.buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(got[0], (1, Value::Varint(300)));
        assert_eq!(got[1].1.float().unwrap(), 0.5);
        let nested: Vec<(u32, Value)> = fields(got[2].1.bytes().unwrap())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(nested[0].1.string().unwrap(), "conv");
        assert_eq!(nested[1].1.varint().unwrap() as i64, -1);
        let mut ints = Vec::new();
        for (_, v) in &got[3..] {
            v.push_ints(&mut ints).unwrap();
        }
        assert_eq!(ints, [1, 2, 3]);
        // 300 as a varint: 0xac 0x02, after the key 0x08.
        assert_eq!(&w.buf[..3], &[0x08, 0xac, 0x02]);
    }

    #[test]
    fn a_length_past_the_end_is_an_error_not_a_panic() {
        // Field 1, length-delimited, claiming 100 bytes of a 3-byte message.
        let buf = [0x0a, 100, 1, 2, 3];
        assert!(fields(&buf).any(|f| f.is_err()));
        let endless = [0x08, 0xff, 0xff];
        assert!(fields(&endless).any(|f| f.is_err()));
    }
}
