// Which kernel a feature map's features approximate: NTKSketch,
// NTKRandomFeatures and CNTKSketch each compute both.
#pragma once

namespace ntk {

enum class FeatureKernel { Ntk, Nngp };

}  // namespace ntk
