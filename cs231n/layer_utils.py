"""Sandwich layers: common chains of layers as one forward/backward pair.

Follows the course's ``layer_utils.py`` API: the same names, parameter order, return values and
caches (a tuple of the parts' caches, in forward order). The convolutions are
:func:`cs231n.fast_layers.conv_forward_fast` (the strides method) and the pooling is
:func:`cs231n.fast_layers.max_pool_forward_fast`. The course's ``affine_ln_relu_forward``
calls a ``layernorm_forward`` that its assignment-3 ``layers.py`` never defines; here
:func:`cs231n.layers.layernorm_forward` exists, so the layer-norm sandwich works.

The parts check their own arguments, so errors name the part that received a bad shape.
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the course's module imports it: its star-import gives it)

from .fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from .layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)


def affine_relu_forward(x, w, b):
    """Affine then ReLU. x: (N, d_1, ..., d_k); w: (D, M); b: (M,).

    Returns ``out`` (N, M) and the cache ``(fc_cache, relu_cache)``.
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Gradients ``(dx, dw, db)`` of :func:`affine_relu_forward`."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine, batch normalisation, ReLU. x: (N, D); w: (D, M); b, gamma, beta: (M,).

    ``bn_param`` as for :func:`cs231n.layers.batchnorm_forward` (updated in train mode).
    Returns ``out`` (N, M) and the cache ``(fc_cache, bn_cache, relu_cache)``.
    """
    a, fc_cache = affine_forward(x, w, b)
    a_bn, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(a_bn)
    return out, (fc_cache, bn_cache, relu_cache)


def affine_bn_relu_backward(dout, cache):
    """Gradients ``(dx, dw, db, dgamma, dbeta)`` of :func:`affine_bn_relu_forward`."""
    fc_cache, bn_cache, relu_cache = cache
    da_bn = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = batchnorm_backward(da_bn, bn_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def affine_ln_relu_forward(x, w, b, gamma, beta, ln_param):
    """Affine, layer normalisation, ReLU. x: (N, D); w: (D, M); b, gamma, beta: (M,).

    ``ln_param`` as for :func:`cs231n.layers.layernorm_forward`. Returns ``out`` (N, M) and the
    cache ``(fc_cache, ln_cache, relu_cache)``.
    """
    a, fc_cache = affine_forward(x, w, b)
    a_ln, ln_cache = layernorm_forward(a, gamma, beta, ln_param)
    out, relu_cache = relu_forward(a_ln)
    return out, (fc_cache, ln_cache, relu_cache)


def affine_ln_relu_backward(dout, cache):
    """Gradients ``(dx, dw, db, dgamma, dbeta)`` of :func:`affine_ln_relu_forward`."""
    fc_cache, ln_cache, relu_cache = cache
    da_ln = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = layernorm_backward(da_ln, ln_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """Convolution then ReLU. x: (N, C, H, W); w: (F, C, HH, WW); b: (F,).

    Returns ``out`` (N, F, out_h, out_w) and the cache ``(conv_cache, relu_cache)``.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Gradients ``(dx, dw, db)`` of :func:`conv_relu_forward`."""
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, spatial batch normalisation, ReLU. gamma, beta: (F,).

    Returns ``out`` (N, F, out_h, out_w) and the cache ``(conv_cache, bn_cache, relu_cache)``.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Gradients ``(dx, dw, db, dgamma, dbeta)`` of :func:`conv_bn_relu_forward`."""
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, max pooling.

    Returns the pooled output and the cache ``(conv_cache, relu_cache, pool_cache)``.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Gradients ``(dx, dw, db)`` of :func:`conv_relu_pool_forward`."""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    return conv_backward_fast(da, conv_cache)
