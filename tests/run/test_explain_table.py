# ruff: noqa: E501  (log excerpts are quoted line for line, as long as real logs have them)
"""The table test: error excerpts as users see them (tracebacks, compiler and launcher output), each with the
signature id that `legacyrun explain` must report FIRST; plus the consistency checks on signatures.yaml.

The excerpts were written for these tests from the facts in the seed posts, the forward-port catalogue's error
texts, the MMDetection FAQ and the seed repositories' known breakages; paths and numbers are illustrative.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from legacyrun.run.explain import explain_text, load_signatures, render_docs

_RAW: list[tuple[str, str]] = [
    # --- GPU architecture, driver, toolkit -------------------------------------------------------------------
    (
        "cuda-arch-not-in-build",
        """
        /opt/conda/lib/python3.8/site-packages/torch/cuda/__init__.py:104: UserWarning:
        NVIDIA GeForce RTX 3090 with CUDA capability sm_86 is not compatible with the current PyTorch installation.
        The current PyTorch install supports CUDA capabilities sm_37 sm_50 sm_60 sm_70.
        If you want to use the NVIDIA GeForce RTX 3090 GPU with PyTorch, please check the instructions at https://pytorch.org/get-started/locally/
          warnings.warn(incompatible_device_warn.format(device_name, capability, " ".join(arch_list), device_name))
        Traceback (most recent call last):
          File "tools/train_net.py", line 79, in main
            model.to(cfg.MODEL.DEVICE)
        RuntimeError: CUDA error: no kernel image is available for execution on the device
        """,
    ),
    (
        "cuda-ext-arch-mismatch",
        """
        [02/23 10:15:42 d2.engine.train_loop]: Starting training from iteration 0
        error in ms_deformable_im2col_cuda: no kernel image is available for execution on the device
        error in ms_deformable_im2col_cuda: no kernel image is available for execution on the device
        [02/23 10:15:44 d2.utils.events]:  eta: 2 days, 1:02:03  iter: 19  total_loss: 71.7  lr: 1e-05  max_mem: 9981M
        """,
    ),
    (
        "cuda-ext-arch-mismatch",
        """
        [02/23 11:02:10 d2.engine.train_loop]: Starting training from iteration 0
        error in ms_deformable_im2col_cuda: invalid device function
        """,
    ),
    (
        "cuda-no-kernel-image",
        """
        2020-06-01 09:12:33,402 maskrcnn_benchmark.trainer INFO: Start training
        Traceback (most recent call last):
          File "tools/train_net.py", line 174, in <module>
            main()
          File "/workspace/maskrcnn_benchmark/layers/nms.py", line 8, in nms
            keep = _C.nms(dets, scores, threshold)
        RuntimeError: CUDA error: no kernel image is available for execution on the device
        """,
    ),
    (
        "cuda-no-kernel-image",
        """
        THCudaCheck FAIL file=/pytorch/aten/src/THC/generic/THCTensorMath.cu line=14 error=48 : no kernel image is available for execution on the device
        Traceback (most recent call last):
          File "train.py", line 31, in <module>
            model = create_model(opt)
        RuntimeError: cuda runtime error (48) : no kernel image is available for execution on the device at /pytorch/aten/src/THC/generic/THCTensorMath.cu:14
        """,
    ),
    (
        "cuda-invalid-device-function",
        """
        Traceback (most recent call last):
          File "tools/train.py", line 187, in <module>
            main()
          File "/usr/local/lib/python3.7/site-packages/mmdet/core/post_processing/bbox_nms.py", line 56, in multiclass_nms
            dets, keep = batched_nms(bboxes, scores, labels, nms_cfg)
        RuntimeError: CUDA error: invalid device function
        """,
    ),
    (
        "nvcc-arch-too-new",
        """
        building 'mmcv._ext' extension
        /usr/local/cuda/bin/nvcc -I/usr/local/lib/python3.7/site-packages/torch/include -c ./mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu -o build/temp.linux-x86_64-3.7/nms_cuda.o -gencode=arch=compute_86,code=sm_86 -std=c++14
        nvcc fatal   : Unsupported gpu architecture 'compute_86'
        error: command '/usr/local/cuda/bin/nvcc' failed with exit status 1
        """,
    ),
    (
        "nvcc-arch-too-new",
        """
        [1/6] /usr/local/cuda/bin/nvcc  -DWITH_CUDA -c /workspace/ops/src/cuda/ms_deform_attn_cuda.cu -o ms_deform_attn_cuda.o --expt-extended-lambda -gencode=arch=compute_90,code=sm_90
        FAILED: ms_deform_attn_cuda.o
        nvcc fatal   : Value 'sm_90' is not defined for option 'gpu-architecture'
        """,
    ),
    (
        "nvcc-arch-too-old",
        """
        /usr/local/cuda-11.3/bin/nvcc -c src/roi_pooling_kernel.cu -o src/roi_pooling.cu.o -x cu -Xcompiler -fPIC -arch=sm_30
        nvcc fatal   : Unsupported gpu architecture 'compute_30'
        make: *** [Makefile:12: roi_pooling.cu.o] Error 1
        """,
    ),
    (
        "torch-unknown-cuda-arch",
        """
        running build_ext
        Traceback (most recent call last):
          File "setup.py", line 69, in <module>
            cmdclass={"build_ext": torch.utils.cpp_extension.BuildExtension},
          File "/opt/conda/lib/python3.7/site-packages/torch/utils/cpp_extension.py", line 1433, in _get_cuda_arch_flags
            raise ValueError("Unknown CUDA arch ({}) or GPU not supported".format(arch))
        ValueError: Unknown CUDA arch (8.6) or GPU not supported
        """,
    ),
    (
        "cuda-driver-too-old",
        """
        ------------ Options -------------
        gpu_ids: 0
        -------------- End ----------------
        THCudaCheck FAIL file=/pytorch/torch/lib/THC/THCGeneral.c line=70 error=35 : CUDA driver version is insufficient for CUDA runtime version
        Traceback (most recent call last):
          File "train.py", line 18, in <module>
            model = create_model(opt)
        RuntimeError: cuda runtime error (35) : CUDA driver version is insufficient for CUDA runtime version at /pytorch/torch/lib/THC/THCGeneral.c:70
        """,
    ),
    (
        "cuda-driver-too-old",
        """
        Traceback (most recent call last):
          File "/opt/conda/lib/python3.10/site-packages/torch/cuda/__init__.py", line 298, in _lazy_init
            torch._C._cuda_init()
        RuntimeError: The NVIDIA driver on your system is too old (found version 10010). Please update your GPU driver by downloading and installing a new version from the URL: http://www.nvidia.com/Download/index.aspx
        """,
    ),
    (
        "no-nvidia-driver",
        """
        Traceback (most recent call last):
          File "train.py", line 12, in <module>
            torch.cuda.set_device(0)
          File "/usr/lib/python3/dist-packages/torch/cuda/__init__.py", line 262, in set_device
            torch._C._cuda_setDevice(device)
        RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx
        """,
    ),
    (
        "docker-gpu-runtime-missing",
        """
        $ docker run --rm --gpus all legacyrun/masktextspotter:4f2a9c nvidia-smi
        docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].
        ERRO[0000] error waiting for container: context canceled
        """,
    ),
    (
        "torch-not-compiled-with-cuda",
        """
        Traceback (most recent call last):
          File "tools/test_net.py", line 97, in <module>
            main()
          File "/usr/local/lib/python3.8/site-packages/torch/cuda/__init__.py", line 211, in _lazy_init
            raise AssertionError("Torch not compiled with CUDA enabled")
        AssertionError: Torch not compiled with CUDA enabled
        """,
    ),
    (
        "torch-not-compiled-with-cuda",
        """
        Traceback (most recent call last):
          File "train.py", line 9, in <module>
            opt = TrainOptions().parse()
          File "/home/user/pytorch-CycleGAN-and-pix2pix/options/base_options.py", line 91, in parse
            torch.cuda.set_device(opt.gpu_ids[0])
          File "/home/user/.local/lib/python3.6/site-packages/torch/cuda/__init__.py", line 264, in set_device
            torch._C._cuda_setDevice(device)
        AttributeError: module 'torch._C' has no attribute '_cuda_setDevice'
        """,
    ),
    (
        "cuda-invalid-device-ordinal",
        """
        *****************************************
        Setting OMP_NUM_THREADS environment variable for each process to be 1 in default
        *****************************************
        Traceback (most recent call last):
          File "tools/train_net.py", line 151, in main
            torch.cuda.set_device(args.local_rank)
        RuntimeError: CUDA error: invalid device ordinal
        CUDA kernel errors might be asynchronously reported at some other API call,so the stacktrace below might be incorrect.
        """,
    ),
    (
        "cuda-oom",
        """
        2019-10-31 12:01:55,117 maskrcnn_benchmark.trainer INFO: eta: 6 days, 1:10:02  iter: 20  loss: 3.1012 (3.4567)  lr: 0.003333  max mem: 10672
        Traceback (most recent call last):
          File "tools/train_net.py", line 174, in <module>
            main()
          File "/workspace/maskrcnn_benchmark/modeling/roi_heads/mask_head/mask_head.py", line 76, in forward
            x = self.feature_extractor(features, proposals)
        RuntimeError: CUDA out of memory. Tried to allocate 196.00 MiB (GPU 0; 10.92 GiB total capacity; 9.73 GiB already allocated; 67.06 MiB free; 10.06 GiB reserved in total by PyTorch)
        """,
    ),
    (
        "cuda-oom",
        """
        Traceback (most recent call last):
          File "/usr/local/lib/python3.10/site-packages/torch/nn/modules/conv.py", line 456, in _conv_forward
            return F.conv2d(input, weight, bias, self.stride,
        torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB of which 1.06 GiB is free.
        """,
    ),
    (
        "cuda-device-side-assert",
        """
        /pytorch/aten/src/ATen/native/cuda/Loss.cu:242: nll_loss_forward_reduce_cuda_kernel_2d: block: [0,0,0], thread: [5,0,0] Assertion `t >= 0 && t < n_classes` failed.
        Traceback (most recent call last):
          File "train.py", line 201, in train_epoch
            loss = criterion(output, target)
        RuntimeError: CUDA error: device-side assert triggered
        """,
    ),
    (
        "cuda-error-generic",
        """
        Traceback (most recent call last):
          File "train.py", line 88, in <module>
            out = model(images)
        RuntimeError: CUDA error: an illegal memory access was encountered
        """,
    ),
    # --- extension builds ------------------------------------------------------------------------------------
    (
        "gcc-too-new-for-nvcc",
        """
        /usr/local/cuda/bin/nvcc -I/opt/conda/lib/python3.6/site-packages/torch/lib/include -c maskrcnn_benchmark/csrc/cuda/nms.cu -o build/temp.linux-x86_64-3.6/nms.o
        In file included from /usr/local/cuda/include/cuda_runtime.h:83,
                         from <command-line>:
        /usr/local/cuda/include/crt/host_config.h:129:2: error: #error -- unsupported GNU version! gcc versions later than 8 are not supported!
          129 | #error -- unsupported GNU version! gcc versions later than 8 are not supported!
              |  ^~~~~
        error: command '/usr/local/cuda/bin/nvcc' failed with exit status 1
        """,
    ),
    (
        "cuda-version-mismatch",
        """
        running build_ext
        Traceback (most recent call last):
          File "setup.py", line 70, in <module>
            cmdclass={"build_ext": BuildExtension},
          File "/opt/conda/envs/mask2former/lib/python3.8/site-packages/torch/utils/cpp_extension.py", line 387, in _check_cuda_version
            raise RuntimeError(CUDA_MISMATCH_MESSAGE.format(cuda_str_version, torch.version.cuda))
        RuntimeError:
        The detected CUDA version (12.0) mismatches the version that was used to compile
        PyTorch (11.1). Please make sure to use the same CUDA versions.
        """,
    ),
    (
        "cuda-home-not-set",
        """
        No CUDA runtime is found, using CUDA_HOME='/usr/local/cuda'
        Traceback (most recent call last):
          File "setup.py", line 57, in get_extensions
            raise NotImplementedError('Cuda is not availabel')
        OSError: CUDA_HOME environment variable is not set. Please set it to your CUDA install root.
        """,
    ),
    (
        "cuda-home-not-set",
        """
        running build_ext
          File "/venv/lib/python3.11/site-packages/torch/utils/cpp_extension.py", line 2510, in _join_cuda_home
            raise OSError('CUDA_HOME environment variable is not set. '
        OSError: CUDA_HOME environment variable is not set. Please set it to your CUDA install root.
        """,
    ),
    (
        "nvcc-not-found",
        """
        building 'MultiScaleDeformableAttention' extension
        /bin/sh: 1: /usr/local/cuda/bin/nvcc: not found
        error: command '/usr/local/cuda/bin/nvcc' failed with exit status 127
        """,
    ),
    (
        "cxx17-required",
        """
        [2/4] c++ -MMD -MF vision.o.d -I/venv/lib/python3.11/site-packages/torch/include -c /src/maskrcnn_benchmark/csrc/vision.cpp -o vision.o -std=c++14
        FAILED: vision.o
        In file included from /venv/lib/python3.11/site-packages/torch/include/torch/extension.h:5,
        /venv/lib/python3.11/site-packages/torch/include/torch/csrc/api/include/torch/all.h:4:2: error: #error C++17 or later compatible compiler is required to use PyTorch.
            4 | #error C++17 or later compatible compiler is required to use PyTorch.
        """,
    ),
    (
        "thc-headers-missing",
        """
        building 'maskrcnn_benchmark._C' extension
        gcc -pthread -B /opt/conda/compiler_compat -Wsign-compare -fPIC -I/src/maskrcnn_benchmark/csrc -c /src/maskrcnn_benchmark/csrc/cuda/ROIAlign_cuda.cu
        /src/maskrcnn_benchmark/csrc/cuda/ROIAlign_cuda.cu:5:10: fatal error: THC/THC.h: No such file or directory
            5 | #include <THC/THC.h>
              |          ^~~~~~~~~~~
        compilation terminated.
        error: command '/usr/local/cuda/bin/nvcc' failed with exit status 1
        """,
    ),
    (
        "thc-thrust-allocator",
        """
        /src/maskrcnn_benchmark/csrc/cuda/nms.cu:6:10: fatal error: THC/THCThrustAllocator.cuh: No such file or directory
            6 | #include <THC/THCThrustAllocator.cuh>
        compilation terminated.
        """,
    ),
    (
        "thc-state",
        """
        /src/csrc/cuda/deform_conv_cuda.cu(74): error: identifier "THCState" is undefined
        /src/csrc/cuda/deform_conv_cuda.cu(74): error: identifier "state" is undefined
        2 errors detected in the compilation of "/src/csrc/cuda/deform_conv_cuda.cu".
        """,
    ),
    (
        "thc-cuda-check",
        """
        /src/maskrcnn_benchmark/csrc/cuda/ROIPool_cuda.cu(140): error: identifier "THCudaCheck" is undefined
        1 error detected in the compilation of "/src/maskrcnn_benchmark/csrc/cuda/ROIPool_cuda.cu".
        """,
    ),
    (
        "thc-cuda-malloc",
        """
        /src/maskrcnn_benchmark/csrc/cuda/nms.cu(71): error: identifier "THCudaMalloc" is undefined
        /src/maskrcnn_benchmark/csrc/cuda/nms.cu(94): error: identifier "THCudaFree" is undefined
        2 errors detected in the compilation of "/src/maskrcnn_benchmark/csrc/cuda/nms.cu".
        """,
    ),
    (
        "thc-ceil-div",
        """
        /src/maskrcnn_benchmark/csrc/cuda/ROIAlign_cuda.cu(275): error: identifier "THCCeilDiv" is undefined
        1 error detected in the compilation of "/src/maskrcnn_benchmark/csrc/cuda/ROIAlign_cuda.cu".
        """,
    ),
    (
        "th-arg-check",
        """
        /src/lib/src/crop_and_resize_gpu.c:21:5: error: identifier "THArgCheck" is undefined
        """,
    ),
    (
        "thc-blas",
        """
        /src/models/ops/src/cuda/deform_conv_cuda.cu(203): error: identifier "THCudaBlas_Sgemm" is undefined
        """,
    ),
    (
        "at-check-removed",
        """
        /src/maskrcnn_benchmark/csrc/cuda/SigmoidFocalLoss_cuda.cu(120): error: identifier "AT_CHECK" is undefined
        1 error detected in the compilation of "/tmp/tmpxft_00003a1f_00000000-6_SigmoidFocalLoss_cuda.cpp1.ii".
        error: command '/usr/bin/nvcc' failed with exit status 1
        """,
    ),
    (
        "at-check-removed",
        """
        /src/fcos_core/csrc/cpu/nms_cpu.cpp: In function 'at::Tensor nms_cpu_kernel(const at::Tensor&, const at::Tensor&, float)':
        /src/fcos_core/csrc/cpu/nms_cpu.cpp:12:3: error: 'AT_CHECK' was not declared in this scope; did you mean 'CHECK'?
           12 |   AT_CHECK(!dets.type().is_cuda(), "dets must be a CPU tensor");
        """,
    ),
    (
        "at-dispatch-type",
        """
        [3/3] /usr/local/cuda/bin/nvcc -c /src/mask2former/modeling/pixel_decoder/ops/src/cuda/ms_deform_attn_cuda.cu -o ms_deform_attn_cuda.o
        /src/mask2former/modeling/pixel_decoder/ops/src/cuda/ms_deform_attn_cuda.cu(69): error: no suitable conversion function from "const at::DeprecatedTypeProperties" to "c10::ScalarType" exists
              [&] { ms_deformable_im2col_cuda(at::cuda::getCurrentCUDAStream(), ...
        1 error detected in the compilation of "ms_deform_attn_cuda.cu".
        """,
    ),
    (
        "cuda-guard-headers",
        """
        /src/csrc/cuda/deform_pool_cuda.cu:11:10: fatal error: ATen/cuda/CUDAGuard.h: No such file or directory
         #include <ATen/cuda/CUDAGuard.h>
        """,
    ),
    (
        "cuda-half-conversion",
        """
        /src/csrc/cuda/modulated_deform_conv_cuda.cu(102): error: no suitable conversion function from "__half" to "float" exists
                  detected during instantiation of "void modulated_deform_conv2d_im2col_gpu_kernel<T>(...) [with T=c10::Half]"
        """,
    ),
    (
        "cuda-shfl-sync",
        """
        /src/csrc/cuda/sigmoid_focal_loss_cuda.cu(54): error: identifier "__shfl_down" is undefined
        """,
    ),
    (
        "cuda-atomicadd-double",
        """
        /src/lib/src/nms_kernel.cu(12): error: function "atomicAdd(double *, double)" has already been defined
        """,
    ),
    (
        "cuda-texture-reference",
        """
        /src/ops/correlation_cuda.cu(8): error: texture is not a template
        /src/ops/correlation_cuda.cu(131): error: identifier "cudaBindTexture" is undefined
        """,
    ),
    (
        "torch-utils-ffi",
        """
        Traceback (most recent call last):
          File "lib/make.py", line 3, in <module>
            from torch.utils.ffi import create_extension
          File "/usr/local/lib/python3.6/site-packages/torch/utils/ffi/__init__.py", line 1, in <module>
            raise ImportError("torch.utils.ffi is deprecated. Please use cpp extensions instead.")
        ImportError: torch.utils.ffi is deprecated. Please use cpp extensions instead.
        """,
    ),
    (
        "ext-not-compiled-with-gpu",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 174, in <module>
          File "/workspace/maskrcnn_benchmark/layers/nms.py", line 8, in nms
            keep = _C.nms(dets, scores, threshold)
        RuntimeError: Not compiled with GPU support (nms at /workspace/maskrcnn_benchmark/csrc/nms.h:22)
        """,
    ),
    (
        "op-not-implemented-on-cpu",
        """
        No CUDA runtime is found, using CUDA_HOME='/usr/local/cuda'
        2026-11-29 21:40:12,118 maskrcnn_benchmark.trainer INFO: Start training
        Traceback (most recent call last):
          File "tools/train_net.py", line 174, in <module>
            main()
          File "/ws/src/masktextspotter/maskrcnn_benchmark/layers/roi_align.py", line 38, in backward
            sampling_ratio,
        RuntimeError: Not implemented on the CPU (ROIAlign_backward at /ws/src/masktextspotter/maskrcnn_benchmark/csrc/ROIAlign.h:44)
        """,
    ),
    (
        "op-not-implemented-on-cpu",
        """
        File "/ws/src/masktextspotter/maskrcnn_benchmark/layers/roi_pool.py", line 36, in backward
        RuntimeError: Not implemented on the CPU (ROIPool_backward at maskrcnn_benchmark/csrc/ROIPool.h:44)
        """,
    ),
    (
        "op-not-implemented-on-cpu",
        """
          File "/src/detectron2/layers/deform_conv.py", line 80, in forward
            _C.deform_conv_forward(
        RuntimeError: This operator is not implemented on CPU
        """,
    ),
    (
        "op-not-implemented-on-cpu",
        """
        NotImplementedError: Could not run 'torchvision::ps_roi_align' with arguments from the 'CPU' backend. This could be because the operator doesn't exist for this backend, or was omitted during the selective/custom build process (if using custom build).
        """,
    ),
    (
        "ext-not-built",
        """
        Traceback (most recent call last):
          File "/src/mask2former/modeling/pixel_decoder/ops/functions/ms_deform_attn_func.py", line 22, in <module>
            import MultiScaleDeformableAttention as MSDA
        ModuleNotFoundError: No module named 'MultiScaleDeformableAttention'
        """,
    ),
    (
        "ext-not-built",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 18, in <module>
            from maskrcnn_benchmark.layers import nms
          File "/src/maskrcnn_benchmark/layers/nms.py", line 3, in <module>
            from maskrcnn_benchmark import _C
        ImportError: cannot import name '_C' from 'maskrcnn_benchmark' (/src/maskrcnn_benchmark/__init__.py)
        """,
    ),
    (
        "ext-undefined-symbol",
        """
        Traceback (most recent call last):
          File "train_net.py", line 41, in <module>
            from mask2former import add_maskformer2_config
          File "/src/mask2former/modeling/pixel_decoder/ops/functions/ms_deform_attn_func.py", line 22, in <module>
            import MultiScaleDeformableAttention as MSDA
        ImportError: /opt/conda/lib/python3.8/site-packages/MultiScaleDeformableAttention-1.0-py3.8-linux-x86_64.egg/MultiScaleDeformableAttention.cpython-38-x86_64-linux-gnu.so: undefined symbol: _ZNK2at10TensorBase8data_ptrIdEEPT_v
        """,
    ),
    (
        "glibcxx-not-found",
        """
        Traceback (most recent call last):
          File "run.py", line 6, in <module>
            from models.networks import define_G
        ImportError: /opt/conda/envs/legacy/bin/../lib/libstdc++.so.6: version `GLIBCXX_3.4.29' not found (required by /src/ext/_ext.cpython-37m-x86_64-linux-gnu.so)
        """,
    ),
    (
        "cuda-lib-missing",
        """
        Traceback (most recent call last):
          File "tools/train.py", line 14, in <module>
            from mmcv.ops import nms
        ImportError: libcudart.so.10.1: cannot open shared object file: No such file or directory
        """,
    ),
    (
        "shared-object-missing",
        """
        Traceback (most recent call last):
          File "demo.py", line 2, in <module>
            import cv2
        ImportError: libGL.so.1: cannot open shared object file: No such file or directory
        """,
    ),
    (
        "setuptools-ext-modules",
        """
        Traceback (most recent call last):
          File "/opt/conda/lib/python3.7/site-packages/setuptools/sandbox.py", line 154, in save_modules
            yield saved
        setuptools.sandbox.UnpickleableException: DistutilsSetupError("each element of 'ext_modules' option must be an Extension instance or 2-tuple")
        """,
    ),
    (
        "compile-failed-nvcc",
        """
        /src/lib/model/csrc/cuda/ROIAlign_cuda.cu(88): error: expected a ";"
        1 error detected in the compilation of "/tmp/tmpxft_0000_ROIAlign_cuda.cpp1.ii".
        error: command '/usr/local/cuda/bin/nvcc' failed with exit status 1
        """,
    ),
    (
        "compile-failed",
        """
        /src/csrc/cpu/nms_cpu.cpp:30:22: error: expected ';' before 'auto'
        ninja: build stopped: subcommand failed.
        Traceback (most recent call last):
          File "/usr/lib/python3/dist-packages/torch/utils/cpp_extension.py", line 1900, in _run_ninja_build
            subprocess.run(
        subprocess.CalledProcessError: Command '['ninja', '-v']' returned non-zero exit status 1.
        RuntimeError: Error compiling objects for extension
        """,
    ),
    # --- distributed / data loading ----------------------------------------------------------------------------
    (
        "ddp-unused-parameters",
        """
        Traceback (most recent call last):
          File "tools/train.py", line 187, in <module>
            main()
          File "/usr/local/lib/python3.8/site-packages/mmcv/parallel/distributed.py", line 52, in train_step
            output = self.module.train_step(*inputs[0], **kwargs[0])
        RuntimeError: Expected to have finished reduction in the prior iteration before starting a new one. This error indicates that your module has parameters that were not used in producing loss. You can enable unused parameter detection by passing the keyword argument `find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`;
        """,
    ),
    (
        "process-group-not-initialized",
        """
        2021-03-02 14:22:10,443 - mmseg - INFO - Start running, host: user@server, work_dir: /work/work_dir
        Traceback (most recent call last):
          File "tools/train.py", line 166, in <module>
            main()
          File "/usr/local/lib/python3.7/site-packages/torch/nn/modules/batchnorm.py", line 519, in forward
            world_size = torch.distributed.get_world_size(process_group)
          File "/usr/local/lib/python3.7/site-packages/torch/distributed/distributed_c10d.py", line 347, in _get_default_group
            raise RuntimeError("Default process group has not been initialized, "
        AssertionError: Default process group is not initialized
        """,
    ),
    (
        "torch-distributed-deprecated",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 21, in <module>
            from maskrcnn_benchmark.utils.comm import synchronize, get_rank
          File "/src/maskrcnn_benchmark/utils/comm.py", line 14, in get_world_size
            if not torch.distributed.deprecated.is_initialized():
        AttributeError: module 'torch.distributed' has no attribute 'deprecated'
        """,
    ),
    (
        "launcher-local-rank",
        """
        /usr/lib/python3/dist-packages/torch/distributed/launch.py:181: FutureWarning: The module torch.distributed.launch is deprecated
        and will be removed in future. Use torchrun.
        usage: train_net.py [-h] [--config-file FILE] [--local_rank LOCAL_RANK] [--skip-test] ...
        train_net.py: error: unrecognized arguments: --local-rank=0
        """,
    ),
    (
        "dist-address-in-use",
        """
        Traceback (most recent call last):
          File "/usr/lib/python3/dist-packages/torch/distributed/elastic/rendezvous/static_tcp_rendezvous.py", line 55, in next_rendezvous
            self._store = TCPStore(
        RuntimeError: The server socket has failed to listen on any local network address. The server socket has failed to bind to [::]:29500 (errno: 98 - Address already in use).
        """,
    ),
    (
        "too-many-open-files",
        """
        Traceback (most recent call last):
          File "/usr/lib/python3.7/multiprocessing/resource_sharer.py", line 149, in _serve
            send(conn, destination_pid)
          File "/usr/lib/python3.7/multiprocessing/reduction.py", line 176, in sendfds
            sock.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        OSError: [Errno 24] Too many open files
        """,
    ),
    (
        "too-many-open-files",
        """
        Traceback (most recent call last):
          File "/usr/lib/python3.8/multiprocessing/resource_sharer.py", line 142, in _serve
            with self._listener.accept() as conn:
        RuntimeError: received 0 items of ancdata
        """,
    ),
    (
        "dataloader-shm",
        """
        ERROR: Unexpected bus error encountered in worker. This might be caused by insufficient shared memory (shm).
        Traceback (most recent call last):
          File "/usr/lib/python3/dist-packages/torch/utils/data/dataloader.py", line 1133, in _try_get_data
            data = self._data_queue.get(timeout=timeout)
        RuntimeError: DataLoader worker (pid 1834) is killed by signal: Bus error. It is possible that dataloader's workers are out of shared memory. Please try to raise your shared memory limit.
        """,
    ),
    (
        "dataloader-worker-died",
        """
        Traceback (most recent call last):
          File "/usr/lib/python3/dist-packages/torch/utils/data/dataloader.py", line 1146, in _try_get_data
            raise RuntimeError(f'DataLoader worker (pid(s) {pids_str}) exited unexpectedly') from e
        RuntimeError: DataLoader worker (pid(s) 4242, 4243) exited unexpectedly
        """,
    ),
    (
        "loss-nan",
        """
        2022-07-25 09:22:00,101 - mmdet - INFO - Epoch [1][50/7330]	lr: 1.988e-02, eta: 1 day, 1:23:45, time: 0.612, data_time: 0.051, memory: 4210, loss_rpn_cls: 0.6012, loss_rpn_bbox: 0.1023, loss_cls: 1.2345, acc: 80.1230, loss_bbox: 0.4321, loss: 2.3701
        2022-07-25 09:22:31,442 - mmdet - INFO - Epoch [1][100/7330]	lr: 1.998e-02, eta: 1 day, 1:20:11, time: 0.598, data_time: 0.012, memory: 4210, loss_rpn_cls: nan, loss_rpn_bbox: nan, loss_cls: nan, acc: 72.3340, loss_bbox: nan, loss: nan
        """,
    ),
    (
        "loss-nan",
        """
        [07/27 10:02:13 d2.utils.events]:  eta: 1 day, 2:33:10  iter: 339  total_loss: 41.2  lr: 0.0001  max_mem: 21030M
        Traceback (most recent call last):
          File "/src/detectron2/engine/train_loop.py", line 421, in _write_metrics
            raise FloatingPointError(
        FloatingPointError: Loss became infinite or NaN at iteration=340!
        """,
    ),
    (
        "visdom-connection",
        """
        create web directory ./checkpoints/facades_pix2pix/web...
        Exception in user code:
        ------------------------------------------------------------
        requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=8097): Max retries exceeded with url: /env/main (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f0b>: Failed to establish a new connection: [Errno 111] Connection refused'))
        """,
    ),
    (
        "visdom-connection",
        """
        Setting up a new session...
        Could not connect to Visdom server.
         Trying to start a server....
        Command: /usr/bin/python -m visdom.server -p 8097 &>/dev/null &
        [Errno 99] Cannot assign requested address
        visdom.ConnectionError: Error connecting to Visdom server
        """,
    ),
    # --- removed Python APIs -----------------------------------------------------------------------------------
    (
        "data0-zero-dim-index",
        """
        Traceback (most recent call last):
          File "train.py", line 47, in <module>
            errors = model.get_current_errors()
          File "/home/user/pytorch-CycleGAN-and-pix2pix/models/pix2pix_model.py", line 122, in get_current_errors
            return OrderedDict([('G_GAN', self.loss_G_GAN.data[0]),
        IndexError: invalid index of a 0-dim tensor. Use tensor.item() to convert a 0-dim tensor to a Python number
        """,
    ),
    (
        "data0-zero-dim-index",
        """
        Traceback (most recent call last):
          File "main.py", line 210, in train
            losses.update(loss.data[0], input.size(0))
        IndexError: invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number
        """,
    ),
    (
        "torch-bool-missing",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 174, in <module>
            main()
          File "/src/maskrcnn_benchmark/modeling/balanced_positive_negative_sampler.py", line 51, in __call__
            pos_idx_per_image_mask = torch.zeros_like(matched_idxs_per_image, dtype=torch.bool)
        AttributeError: module 'torch' has no attribute 'bool'
        """,
    ),
    (
        "uint8-mask",
        """
        Traceback (most recent call last):
          File "/src/maskrcnn_benchmark/modeling/roi_heads/mask_head/inference.py", line 51, in forward
            mask_prob = mask_prob.masked_fill_(invalid, 0)
        RuntimeError: masked_fill_ only supports boolean masks, but got mask with dtype unsigned char
        """,
    ),
    (
        "uint8-mask",
        """
        /src/maskrcnn_benchmark/modeling/rpn/inference.py:101: UserWarning: indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead. (Triggered internally at /pytorch/aten/src/ATen/native/IndexingUtils.h:20.)
          boxes = boxes[keep]
        """,
    ),
    (
        "bool-mask-subtraction",
        """
        Traceback (most recent call last):
          File "train.py", line 66, in compute_loss
            neg_mask = 1 - pos_mask
        RuntimeError: Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.
        """,
    ),
    (
        "cuda-device-id-kwarg",
        """
        ------------ Options -------------
        gpu_ids: [0]
        Traceback (most recent call last):
          File "train.py", line 12, in <module>
            model = create_model(opt)
          File "/home/user/pytorch-CycleGAN-and-pix2pix/models/networks.py", line 116, in define_G
            netG.cuda(device_id=gpu_ids[0])
        TypeError: cuda() got an unexpected keyword argument 'device_id'
        """,
    ),
    (
        "cuda-async-kwarg",
        """
        Traceback (most recent call last):
          File "main.py", line 14, in <module>
            from trainer import Trainer
          File "/src/trainer.py", line 118
            target = target.cuda(async=True)
                                     ^
        SyntaxError: invalid syntax
        """,
    ),
    (
        "volatile-removed",
        """
        test.py:41: UserWarning: volatile was removed and now has no effect. Use `with torch.no_grad():` instead.
          input_var = torch.autograd.Variable(input, volatile=True)
        """,
    ),
    (
        "download-url-to-file",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 22, in <module>
            from maskrcnn_benchmark.utils.checkpoint import DetectronCheckpointer
          File "/src/maskrcnn_benchmark/utils/model_zoo.py", line 8, in <module>
            from torch.utils.model_zoo import _download_url_to_file
        ImportError: cannot import name '_download_url_to_file' from 'torch.utils.model_zoo' (/usr/lib/python3/dist-packages/torch/utils/model_zoo.py)
        """,
    ),
    (
        "torch-six-removed",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 17, in <module>
            from maskrcnn_benchmark.data import make_data_loader
          File "/src/maskrcnn_benchmark/data/samplers/distributed.py", line 5, in <module>
            from torch._six import int_classes as _int_classes
        ModuleNotFoundError: No module named 'torch._six'
        """,
    ),
    (
        "torch-six-removed",
        """
        Traceback (most recent call last):
          File "/src/timm/models/layers/helpers.py", line 6, in <module>
            from torch._six import container_abcs
        ImportError: cannot import name 'container_abcs' from 'torch._six' (/usr/lib/python3/dist-packages/torch/_six.py)
        """,
    ),
    (
        "dataloader-private-imports",
        """
        Traceback (most recent call last):
          File "/src/lib/datasets/collate.py", line 4, in <module>
            from torch.utils.data.dataloader import numpy_type_map
        ImportError: cannot import name 'numpy_type_map'
        """,
    ),
    (
        "torch-fft-functions",
        """
        Traceback (most recent call last):
          File "/src/models/losses.py", line 31, in fft_loss
            f = torch.rfft(x, 2, onesided=False)
        AttributeError: module 'torch' has no attribute 'rfft'
        """,
    ),
    (
        "linalg-removed",
        """
        Traceback (most recent call last):
          File "/src/geometry.py", line 88, in solve_pnp
            X, LU = torch.solve(B, A)
        RuntimeError: This function was deprecated since version 1.9 and is now removed. `torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has its arguments reversed and does not return the LU factorization.
        """,
    ),
    (
        "int-tensor-division",
        """
        Traceback (most recent call last):
          File "/src/lib/utils/box_utils.py", line 42, in decode
            centers = (anchors[:, :2] + anchors[:, 2:]) / 2
        RuntimeError: Integer division of tensors using div or / is no longer supported, and in a future release div will perform true division as in Python 3. Use true_divide or floor_divide (// in Python) instead.
        """,
    ),
    (
        "legacy-autograd-function",
        """
        Traceback (most recent call last):
          File "/src/lib/roi_align/functions/roi_align.py", line 40, in forward
            return RoIAlignFunction(self.aligned_height, self.aligned_width, self.spatial_scale)(features, rois)
        RuntimeError: Legacy autograd function with non-static forward method is deprecated. Please use new-style autograd function with static forward method. (Example: https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)
        """,
    ),
    (
        "inplace-modified",
        """
        Traceback (most recent call last):
          File "train.py", line 121, in <module>
            loss_G.backward()
        RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.cuda.FloatTensor [512, 1, 4, 4]] is at version 2; expected version 1 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True).
        """,
    ),
    (
        "padding-mode-missing",
        """
        Traceback (most recent call last):
          File "test.py", line 35, in <module>
            output = model(img)
          File "/usr/lib/python3/dist-packages/torch/nn/modules/module.py", line 1614, in __getattr__
            raise AttributeError("'{}' object has no attribute '{}'".format(
        AttributeError: 'Upsample' object has no attribute 'recompute_scale_factor'
        """,
    ),
    (
        "torch-load-weights-only",
        """
        Traceback (most recent call last):
          File "tools/test_net.py", line 61, in main
            checkpoint = torch.load(args.ckpt)
        _pickle.UnpicklingError: Weights only load failed. This file can still be loaded, to do so you have two options, do those steps only if you trust the source of the checkpoint.
        \tWeightsUnpickler error: Unsupported global: GLOBAL argparse.Namespace was not an allowed global by default.
        """,
    ),
    (
        "checkpoint-zip-on-old-torch",
        """
        Traceback (most recent call last):
          File "test.py", line 20, in <module>
            state = torch.load('checkpoints/latest_net_G.pth')
        RuntimeError: checkpoints/latest_net_G.pth is a zip archive (did you mean to use torch.jit.load()?)
        """,
    ),
    (
        "py2-pickle-encoding",
        """
        Traceback (most recent call last):
          File "/src/datasets/synthtext.py", line 40, in __init__
            self.gt = pickle.load(f)
        UnicodeDecodeError: 'ascii' codec can't decode byte 0x8b in position 6: ordinal not in range(128)
        """,
    ),
    (
        "tv-transforms-scale",
        """
        Traceback (most recent call last):
          File "/home/user/pytorch-CycleGAN-and-pix2pix/data/base_dataset.py", line 18, in get_transform
            transform_list.append(transforms.Scale(osize, Image.BICUBIC))
        AttributeError: module 'torchvision.transforms' has no attribute 'Scale'
        """,
    ),
    (
        "tv-models-utils",
        """
        Traceback (most recent call last):
          File "/src/backbones/resnet.py", line 3, in <module>
            from torchvision.models.utils import load_state_dict_from_url
        ModuleNotFoundError: No module named 'torchvision.models.utils'
        """,
    ),
    (
        "version-string-parse",
        """
        Traceback (most recent call last):
          File "/src/util/misc.py", line 22, in <module>
            from torchvision.ops.misc import _NewEmptyTensorOp
        ImportError: cannot import name '_NewEmptyTensorOp' from 'torchvision.ops.misc' (/usr/lib/python3/dist-packages/torchvision/ops/misc.py)
        """,
    ),
    (
        "amp-missing-old-torch",
        """
        Traceback (most recent call last):
          File "train_net.py", line 140, in do_train
            with torch.cuda.amp.autocast(enabled=cfg.SOLVER.AMP.ENABLED):
        AttributeError: module 'torch.cuda.amp' has no attribute 'autocast'
        """,
    ),
    (
        "apex-missing",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 31, in <module>
            from apex import amp
        ModuleNotFoundError: No module named 'apex'
        """,
    ),
    (
        "meshgrid-indexing-old-torch",
        """
        Traceback (most recent call last):
          File "/src/mask2former/modeling/transformer_decoder/position_encoding.py", line 41, in forward
            ys, xs = torch.meshgrid(y, x, indexing="ij")
        TypeError: meshgrid() got an unexpected keyword argument 'indexing'
        """,
    ),
    # --- mmcv / MMDetection ------------------------------------------------------------------------------------
    (
        "mmcv-ext-missing",
        """
        Traceback (most recent call last):
          File "tools/train.py", line 15, in <module>
            from mmdet.apis import set_random_seed, train_detector
          File "/usr/local/lib/python3.7/site-packages/mmcv/ops/__init__.py", line 2, in <module>
            from .bbox import bbox_overlaps
          File "/usr/local/lib/python3.7/site-packages/mmcv/utils/ext_loader.py", line 13, in load_ext
            ext = importlib.import_module('mmcv.' + name)
        ModuleNotFoundError: No module named 'mmcv._ext'
        """,
    ),
    (
        "mmcv-version-incompatible",
        """
        Traceback (most recent call last):
          File "tools/train.py", line 12, in <module>
            from mmdet import __version__
          File "/src/mmdet/__init__.py", line 24, in <module>
            f'MMCV=={mmcv.__version__} is used but incompatible. ' \\
        AssertionError: MMCV==1.7.0 is used but incompatible. Please install mmcv>=1.3.17, <=1.6.0.
        """,
    ),
    (
        "mmcv-version-incompatible",
        """
        Traceback (most recent call last):
          File "/src/mmdet/ops/conv_ws.py", line 52, in <module>
            @CONV_LAYERS.register_module('ConvWS')
        KeyError: 'ConvWS is already registered in conv layer'
        """,
    ),
    (
        "mmcv-runner-removed",
        """
        Traceback (most recent call last):
          File "/src/featdepth/mono/apis/trainer.py", line 9, in <module>
            from mmcv.runner import Runner, DistSamplerSeedHook, obj_from_dict
        ModuleNotFoundError: No module named 'mmcv.runner'
        """,
    ),
    (
        "segfault",
        """
        2021-05-02 10:00:01,512 - mmdet - INFO - Start running, host: user@gpu01, work_dir: /work/work_dirs
        Fatal Python error: Segmentation fault

        Current thread 0x00007f3a5c1f7740 (most recent call first):
          File "/usr/local/lib/python3.7/site-packages/mmcv/ops/roi_align.py", line 82 in forward
        """,
    ),
    # --- NumPy, Pillow, SciPy, Python --------------------------------------------------------------------------
    (
        "numpy-builtin-aliases",
        """
        Traceback (most recent call last):
          File "/src/maskrcnn_benchmark/data/datasets/evaluation/word/util.py", line 12, in polygon_to_box
            pts = np.array(points, dtype=np.float)
          File "/usr/lib/python3/dist-packages/numpy/__init__.py", line 305, in __getattr__
            raise AttributeError(__former_attrs__[attr])
        AttributeError: module 'numpy' has no attribute 'float'.
        `np.float` was a deprecated alias for the builtin `float`. To avoid this error in existing code, use `float` by itself.
        """,
    ),
    (
        "numpy2-removed",
        """
        Traceback (most recent call last):
          File "/src/eval/metrics.py", line 17, in compute
            scores[mask] = np.NaN
        AttributeError: `np.NaN` was removed in the NumPy 2.0 release. Use `np.nan` instead.
        """,
    ),
    (
        "numpy2-abi",
        """
        A module that was compiled using NumPy 1.x cannot be run in
        NumPy 2.0.2 as it may crash. To support both 1.x and 2.x
        versions of NumPy, modules must be compiled with NumPy 2.0.
        Traceback (most recent call last):  File "tools/train_net.py", line 12, in <module>
            import torch
        AttributeError: _ARRAY_API not found
        """,
    ),
    (
        "numpy-ragged-array",
        """
        Traceback (most recent call last):
          File "/src/datasets/icdar.py", line 96, in load_gt
            polys = np.array(polys)
        ValueError: setting an array element with a sequence. The requested array has an inhomogeneous shape after 1 dimensions. The detected shape was (7,) + inhomogeneous part.
        """,
    ),
    (
        "pillow-constants",
        """
        Traceback (most recent call last):
          File "/src/detectron2/data/transforms/transform.py", line 46, in __init__
            def __init__(self, shape_list, interp=Image.LINEAR):
        AttributeError: module 'PIL.Image' has no attribute 'LINEAR'
        """,
    ),
    (
        "pillow-version",
        """
        Traceback (most recent call last):
          File "train.py", line 3, in <module>
            import torchvision.transforms as transforms
          File "/usr/local/lib/python3.6/site-packages/torchvision/transforms/functional.py", line 5, in <module>
            from PIL import Image, ImageOps, ImageEnhance, PILLOW_VERSION
        ImportError: cannot import name 'PILLOW_VERSION' from 'PIL' (/usr/local/lib/python3.6/site-packages/PIL/__init__.py)
        """,
    ),
    (
        "pillow-textsize",
        """
        Traceback (most recent call last):
          File "/src/tools/visualize.py", line 88, in draw_text
            w, h = draw.textsize(word, font=font)
        AttributeError: 'ImageDraw' object has no attribute 'textsize'
        """,
    ),
    (
        "scipy-misc-removed",
        """
        Traceback (most recent call last):
          File "/home/user/pytorch-CycleGAN-and-pix2pix/util/util.py", line 6, in <module>
            from scipy.misc import imresize
        ImportError: cannot import name 'imresize' from 'scipy.misc' (/usr/lib/python3/dist-packages/scipy/misc/__init__.py)
        """,
    ),
    (
        "skimage-compare",
        """
        Traceback (most recent call last):
          File "eval.py", line 4, in <module>
            from skimage.measure import compare_ssim
        ImportError: cannot import name 'compare_ssim' from 'skimage.measure' (/usr/lib/python3/dist-packages/skimage/measure/__init__.py)
        """,
    ),
    (
        "sklearn-linear-assignment",
        """
        Traceback (most recent call last):
          File "/src/tracker/matching.py", line 5, in <module>
            from sklearn.utils.linear_assignment_ import linear_assignment
        ModuleNotFoundError: No module named 'sklearn.utils.linear_assignment_'
        """,
    ),
    (
        "cv2-findcontours",
        """
        Traceback (most recent call last):
          File "/src/maskrcnn_benchmark/utils/chars.py", line 77, in mask_to_polygon
            _, contours, hierarchy = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        ValueError: not enough values to unpack (expected 3, got 2)
        """,
    ),
    (
        "collections-abc",
        """
        Traceback (most recent call last):
          File "/src/maskrcnn_benchmark/config/defaults.py", line 4, in <module>
            from collections import Iterable
        ImportError: cannot import name 'Iterable' from 'collections' (/usr/lib/python3.10/collections/__init__.py)
        """,
    ),
    (
        "collections-abc",
        """
        Traceback (most recent call last):
          File "/home/user/pytorch-CycleGAN-and-pix2pix/util/html.py", line 31, in add_images
            if isinstance(ims, collections.Callable):
        AttributeError: module 'collections' has no attribute 'Callable'
        """,
    ),
    (
        "time-clock",
        """
        Traceback (most recent call last):
          File "/src/utils/timer.py", line 14, in tic
            self.start_time = time.clock()
        AttributeError: module 'time' has no attribute 'clock'
        """,
    ),
    (
        "yaml-load-loader",
        """
        Traceback (most recent call last):
          File "train.py", line 30, in <module>
            cfg = yaml.load(open(args.config))
        TypeError: load() missing 1 required positional argument: 'Loader'
        """,
    ),
    (
        "yaml-python-tuple",
        """
        Traceback (most recent call last):
          File "/src/maskrcnn_benchmark/config/paths_catalog.py", line 40, in load
            cfg = yaml.safe_load(f)
        yaml.constructor.ConstructorError: could not determine a constructor for the tag 'tag:yaml.org,2002:python/tuple'
          in "configs/pretrain.yaml", line 12, column 12
        """,
    ),
    (
        "distutils-version",
        """
        Traceback (most recent call last):
          File "tools/train_net.py", line 28, in <module>
            from torch.utils.tensorboard import SummaryWriter
          File "/usr/local/lib/python3.8/site-packages/torch/utils/tensorboard/__init__.py", line 4, in <module>
            LooseVersion = distutils.version.LooseVersion
        AttributeError: module 'distutils' has no attribute 'version'
        """,
    ),
    (
        "protobuf-descriptors",
        """
        Traceback (most recent call last):
          File "train.py", line 9, in <module>
            from tensorboardX import SummaryWriter
          File "/usr/local/lib/python3.7/site-packages/tensorboardX/proto/summary_pb2.py", line 36, in <module>
            _descriptor.FieldDescriptor(
        TypeError: Descriptors cannot not be created directly.
        If this call came from a _pb2.py file, your generated code is out of date and must be regenerated with protoc >= 3.19.0.
        """,
    ),
    # --- environment construction ------------------------------------------------------------------------------
    (
        "pip-no-matching-torch",
        """
        $ pip install torch==1.4.0 torchvision==0.5.0
        ERROR: Could not find a version that satisfies the requirement torch==1.4.0 (from versions: 2.2.0, 2.2.1, 2.2.2, 2.3.0, 2.3.1)
        ERROR: No matching distribution found for torch==1.4.0
        """,
    ),
    (
        "torch-missing-in-build",
        """
        Collecting git+https://github.com/cocodataset/panopticapi.git
          Installing build dependencies ... done
          Getting requirements to build wheel ... error
          error: subprocess-exited-with-error
          × Getting requirements to build wheel did not run successfully.
          ╰─> [17 lines of output]
              File "<string>", line 8, in <module>
              ModuleNotFoundError: No module named 'torch'
              [end of output]
        """,
    ),
    (
        "conda-packages-not-found",
        """
        Collecting package metadata (repodata.json): done
        Solving environment: failed

        ResolvePackageNotFound:
          - cudatoolkit==10.0.130=0
          - pytorch==1.0.0=py3.6_cuda10.0.130_cudnn7.4.1_1
        """,
    ),
    (
        "conda-packages-not-found",
        """
        Solving environment: failed with initial frozen solve. Retrying with flexible solve.

        PackagesNotFoundError: The following packages are not available from current channels:

          - pytorch==0.2.0
        """,
    ),
    (
        "docker-image-gone",
        """
        Step 1/14 : FROM nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04
        Error response from daemon: manifest for nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04 not found: manifest unknown: manifest unknown
        """,
    ),
]

CASES: list[tuple[str, str]] = [(sig_id, dedent(text).strip("\n") + "\n") for sig_id, text in _RAW]


def _case_ids() -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for sig_id, _ in CASES:
        seen[sig_id] = seen.get(sig_id, 0) + 1
        out.append(f"{sig_id}-{seen[sig_id]}")
    return out


@pytest.mark.parametrize(("expected", "excerpt"), CASES, ids=_case_ids())
def test_excerpt_maps_to_signature_first(expected: str, excerpt: str) -> None:
    matches = explain_text(excerpt)
    assert matches, f"nothing matched; expected {expected}"
    assert matches[0].signature_id == expected, [m.signature_id for m in matches]
    first = matches[0]
    # The reported line is a real line of the excerpt, and the excerpt shown is that line.
    lines = excerpt.splitlines()
    assert 1 <= first.line <= len(lines)
    shown = first.excerpt.removeprefix("...").removesuffix("...")
    assert shown and shown in lines[first.line - 1]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 45
    assert len({sig_id for sig_id, _ in CASES}) >= 50


def _fixture_signatures() -> set[str]:
    # Excerpts kept as data files (explain_excerpts/*.yaml, tested by test_explain_faq.py) count as coverage too.
    import yaml

    found: set[str] = set()
    for path in sorted(Path(__file__).with_name("explain_excerpts").glob("*.yaml")):
        found |= {case["signature"] for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]}
    return found


def test_every_signature_has_cause_fix_and_an_excerpt() -> None:
    sigset = load_signatures()
    covered = {sig_id for sig_id, _ in CASES} | _fixture_signatures()
    assert len(sigset.signatures) >= 50
    for sig in sigset.signatures:
        assert sig.cause.strip() and sig.fix.strip() and sig.title.strip(), sig.id
        assert sig.sources, sig.id
        assert sig.id in covered, f"signature {sig.id} has no test excerpt"
    unknown = covered - {s.id for s in sigset.signatures}
    assert not unknown, f"excerpts name unknown signatures: {sorted(unknown)}"


def test_fixes_are_concrete() -> None:
    # A fix names a legacyrun command, a catalog rule, or a recipe/profile change, not just "check your setup".
    for sig in load_signatures().signatures:
        fix = sig.fix
        assert "legacyrun " in fix or "catalog rule" in fix or "recipe" in fix or "profile" in fix, sig.id


def test_required_failures_are_covered() -> None:
    required = {
        "no kernel image is available": "RuntimeError: CUDA error: no kernel image is available for execution on "
        "the device",
        "invalid device function": "RuntimeError: CUDA error: invalid device function",
        "undefined symbol": "ImportError: /x/_C.so: undefined symbol: _ZN3c104cuda20getCurrentCUDAStreamEa",
        "unsupported GNU version": "#error -- unsupported GNU version! gcc versions later than 6 are not supported!",
        "compute_86": "nvcc fatal   : Unsupported gpu architecture 'compute_86'",
        "mmcv._ext": "ModuleNotFoundError: No module named 'mmcv._ext'",
        "THC/THC.h": "x.cu:3:10: fatal error: THC/THC.h: No such file or directory",
        "process group": "AssertionError: Default process group is not initialized",
        "open files": "OSError: [Errno 24] Too many open files",
        "OOM": "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB",
        "reduction": "RuntimeError: Expected to have finished reduction in the prior iteration before starting a "
        "new one.",
        "0-dim": "IndexError: invalid index of a 0-dim tensor. Use tensor.item() to convert a 0-dim tensor",
        "torch.bool": "AttributeError: module 'torch' has no attribute 'bool'",
        "GLIBCXX": "ImportError: /usr/lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by x.so)",
        "NaN": "Epoch [3][200/500] lr: 2.0e-02, loss_cls: nan, loss_bbox: nan, loss: nan",
        "driver": "RuntimeError: CUDA driver version is insufficient for CUDA runtime version",
        "nvcc fatal": "nvcc fatal   : A single input file is required for a non-link phase when an outputfile is "
        "specified",
        "AT_CHECK": "x.cpp:12:3: error: 'AT_CHECK' was not declared in this scope",
    }
    for name, line in required.items():
        assert explain_text(line + "\n"), f"{name}: no signature matched {line!r}"


def _catalogue_path() -> Path | None:
    # The forward-port catalogue lives in the shared reference folder next to the checkout (not in the package).
    here = Path(__file__).resolve()
    for base in here.parents:
        candidate = base / "shared" / "reference" / "forward_port_catalogue.yaml"
        if candidate.is_file():
            return candidate
    return None


def test_catalog_rule_ids_exist_in_the_catalogue() -> None:
    path = _catalogue_path()
    if path is None:
        pytest.skip("shared/reference/forward_port_catalogue.yaml is not next to this checkout")
    import yaml

    ids = {e["id"] for e in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]}
    for sig in load_signatures().signatures:
        missing = set(sig.catalog_rules) - ids
        assert not missing, f"{sig.id}: unknown catalog rules {sorted(missing)}"


def test_docs_are_generated_from_the_signatures(repo_root: Path) -> None:
    doc = repo_root / "docs" / "explain.md"
    assert doc.read_text(encoding="utf-8") == render_docs(), (
        'docs/explain.md is stale; regenerate: python -c "from legacyrun.run.explain import write_docs; write_docs()"'
    )
