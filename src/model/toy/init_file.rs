//! Init files (SPEC §9): `{"layers": [{"weight": [[…], …], "bias": […]}, …]}`, one entry per
//! linear layer from input to output, `weight` of shape `out × in`. Converts between that format
//! and a flat parameter vector in the index order of SPEC §2 (each layer's weight row-major, then
//! its bias).

use serde::{Deserialize, Serialize};

/// One linear layer of an init file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerInit {
    /// Weight matrix, `out` rows of `in` values.
    pub weight: Vec<Vec<f64>>,
    /// Bias, `out` values.
    pub bias: Vec<f64>,
}

/// A whole init file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitFile {
    /// Linear layers from input to output.
    pub layers: Vec<LayerInit>,
}

/// Why an init file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InitFileError {
    /// Not valid JSON of the expected structure.
    #[error("malformed init file: {0}")]
    Malformed(serde_json::Error),
    /// The number of layers differs from the model's.
    #[error("init file has {found} layers, the model has {expected}")]
    LayerCount {
        /// Layers the model has.
        expected: usize,
        /// Layers in the file.
        found: usize,
    },
    /// A layer's weight or bias has the wrong shape.
    #[error("init file layer {layer}: {what} has shape {found}, the model needs {expected}")]
    Shape {
        /// 0-based layer index.
        layer: usize,
        /// `weight` or `bias`.
        what: &'static str,
        /// Shape the model needs.
        expected: String,
        /// Shape found.
        found: String,
    },
    /// A value is NaN or infinite.
    #[error("init file layer {layer}: non-finite value {value}")]
    NonFinite {
        /// 0-based layer index.
        layer: usize,
        /// The offending value.
        value: f64,
    },
}

impl InitFile {
    /// Splits flat parameters into layers of the given `(out, in)` shapes.
    pub fn from_params(layers: &[(usize, usize)], params: &[f64]) -> Self {
        let mut offset = 0;
        let layers = layers
            .iter()
            .map(|&(out, inp)| {
                let weight = (0..out)
                    .map(|r| params[offset + r * inp..offset + (r + 1) * inp].to_vec())
                    .collect();
                offset += out * inp;
                let bias = params[offset..offset + out].to_vec();
                offset += out;
                LayerInit { weight, bias }
            })
            .collect();
        InitFile { layers }
    }

    /// Parses an init file's text.
    pub fn parse(text: &str) -> Result<Self, InitFileError> {
        serde_json::from_str(text).map_err(InitFileError::Malformed)
    }

    /// Flattens into parameters after checking every shape against `(out, in)` per layer.
    pub fn to_params(&self, layers: &[(usize, usize)]) -> Result<Vec<f64>, InitFileError> {
        if self.layers.len() != layers.len() {
            return Err(InitFileError::LayerCount {
                expected: layers.len(),
                found: self.layers.len(),
            });
        }
        let mut params: Vec<f64> = Vec::new();
        for (idx, (layer, &(out, inp))) in self.layers.iter().zip(layers).enumerate() {
            let rows_ok = layer.weight.len() == out && layer.weight.iter().all(|r| r.len() == inp);
            if !rows_ok {
                let cols = layer.weight.first().map_or(0, Vec::len);
                return Err(InitFileError::Shape {
                    layer: idx,
                    what: "weight",
                    expected: format!("{out}x{inp}"),
                    found: format!("{}x{cols}", layer.weight.len()),
                });
            }
            if layer.bias.len() != out {
                return Err(InitFileError::Shape {
                    layer: idx,
                    what: "bias",
                    expected: out.to_string(),
                    found: layer.bias.len().to_string(),
                });
            }
            params.extend(layer.weight.iter().flatten());
            params.extend(&layer.bias);
            if let Some(&value) = params.iter().find(|v| !v.is_finite()) {
                return Err(InitFileError::NonFinite { layer: idx, value });
            }
        }
        Ok(params)
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("init files always serialise")
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_shape_errors() {
        let layers = [(2, 3), (1, 2)];
        let params: Vec<f64> = (0..11).map(|i| i as f64 * 0.5).collect();
        let file = InitFile::from_params(&layers, &params);
        assert_eq!(file.layers[0].weight[1], vec![1.5, 2.0, 2.5]);
        let parsed = InitFile::parse(&file.to_json()).unwrap();
        assert_eq!(parsed.to_params(&layers).unwrap(), params);
        let err = parsed.to_params(&[(3, 3), (1, 3)]).unwrap_err();
        assert!(
            err.to_string().contains("layer 0: weight has shape 2x3"),
            "{err}"
        );
        assert!(InitFile::parse("{\"layers\": [").is_err());
    }
}
