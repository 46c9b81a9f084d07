!> The general ONNX binding from Fortran, on a model with two inputs and two outputs of
!> different ranks (what 2D advection needs: a cell field and face velocities in, two face
!> fields out), and the learned provider on blocks with wider halos than the model's.
!>
!>   check_onnx two_in_two_out.onnx out.bin [burgers_8x.onnx]
!>
!> Prints the signature as read at load (name, element type, ONNX dimensions, -1 symbolic),
!> runs the model on c(nx, ny) = [1, 1, ny, nx] and v(nf, ny) = [1, ny, nf] into
!> fx(nf, ny) and fy(nx, ny), writes fx then fy (float64) to out.bin, and prints the
!> message of a call with a wrong shape; then runs it asking for fx alone. With a Burgers
!> model: the learned provider's fluxes on halos 7 and 9 and through the coupler with 9 ghost cells must be equal (exit 1 if not).
!> Run by tests/test_onnx_binding.py.
program check_onnx
  use, intrinsic :: iso_fortran_env, only: output_unit
  use hfc_kinds, only: wp, HFC_OK, HFC_ERRMSG_LEN
  use hfc_grid, only: hfc_grid_t, hfc_grid_init_spacing, hfc_grid_block
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_provider, only: hfc_aux_t
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_config_t, hfc_onnx_load, hfc_onnx_run, hfc_tensor
  use hfc_learned, only: hfc_learned_flux, hfc_learned_init
  use hfc_coupler, only: hfc_coupler_t, hfc_coupler_create, hfc_coupler_face_fluxes
  implicit none

  integer, parameter :: nx = 5, ny = 3, nf = 6
  type(hfc_onnx_model_t), target :: model, burgers
  type(hfc_onnx_config_t) :: config
  character(len=HFC_ERRMSG_LEN) :: errmsg
  character(len=1024) :: path, out
  real(wp), target :: c(nx, ny), v(nf, ny), fx(nf, ny), fy(nx, ny), wrong(nx + 1, ny), wide(2 * nx, ny), &
                      fx1(nf, ny)
  integer :: stat, i, j, unit

  call get_command_argument(1, path)
  call get_command_argument(2, out)
  call hfc_onnx_load(model, path, config, stat, errmsg)
  if (stat /= HFC_OK) error stop 'load: ' // trim(errmsg)
  do i = 1, size(model%inputs)
    write(output_unit, '(a, a, a, i0, a, *(i0, :, ","))') 'input ', model%inputs(i)%name, ' type ', &
      model%inputs(i)%dtype, ' dims ', model%inputs(i)%dims(1:model%inputs(i)%rank)
  end do
  do i = 1, size(model%outputs)
    write(output_unit, '(a, a, a, i0, a, *(i0, :, ","))') 'output ', model%outputs(i)%name, ' type ', &
      model%outputs(i)%dtype, ' dims ', model%outputs(i)%dims(1:model%outputs(i)%rank)
  end do
  write(output_unit, '(a, i0)') 'metadata entries ', size(model%metadata)

  c = reshape([(real(i, wp), i = 1, nx * ny)], [nx, ny])
  v = reshape([(0.5_wp * i - 3.0_wp, i = 1, nf * ny)], [nf, ny])
  call hfc_onnx_run(model, [hfc_tensor(c, [1, 1, ny, nx]), hfc_tensor(v, [1, ny, nf])], &
                    [hfc_tensor(fx, [1, ny, nf]), hfc_tensor(fy, [1, 1, ny, nx])], stat, errmsg)
  if (stat /= HFC_OK) error stop 'run: ' // trim(errmsg)
  open(newunit=unit, file=out, access='stream', form='unformatted', status='replace', action='write')
  write(unit) fx, fy
  close(unit)
  ! the first output alone (into an array not yet set): the same values
  call hfc_onnx_run(model, [hfc_tensor(c, [1, 1, ny, nx]), hfc_tensor(v, [1, ny, nf])], &
                    [hfc_tensor(fx1, [1, ny, nf])], stat, errmsg)
  write(output_unit, '(a, i0, a, l1)') 'first output only: stat ', stat, ' same ', all(fx1 == fx)

  ! a rank mismatch and a shape mismatch against the graph: refused, with what was found
  call hfc_onnx_run(model, [hfc_tensor(c), hfc_tensor(v, [1, ny, nf])], &
                    [hfc_tensor(fx, [1, ny, nf]), hfc_tensor(fy, [1, 1, ny, nx])], stat, errmsg)
  write(output_unit, '(a, i0, a, a)') 'rank mismatch: stat ', stat, ' ', trim(errmsg)
  call hfc_onnx_run(model, [hfc_tensor(wrong, [1, 2, ny, (nx + 1) / 2]), hfc_tensor(v, [1, ny, nf])], &
                    [hfc_tensor(fx, [1, ny, nf]), hfc_tensor(fy, [1, 1, ny, nx])], stat, errmsg)
  write(output_unit, '(a, i0, a, a)') 'shape mismatch: stat ', stat, ' ', trim(errmsg)
  call hfc_onnx_run(model, [hfc_tensor(wrong, [1, 1, ny, nx]), hfc_tensor(v, [1, ny, nf])], &
                    [hfc_tensor(fx, [1, ny, nf]), hfc_tensor(fy, [1, 1, ny, nx])], stat, errmsg)
  write(output_unit, '(a, i0, a, a)') 'size mismatch: stat ', stat, ' ', trim(errmsg)
  wide = 0.0_wp
  call hfc_onnx_run(model, [hfc_tensor(wide(1:2 * nx:2, :), [1, 1, ny, nx]), hfc_tensor(v, [1, ny, nf])], &
                    [hfc_tensor(fx, [1, ny, nf]), hfc_tensor(fy, [1, 1, ny, nx])], stat, errmsg)
  write(output_unit, '(a, i0, a, a)') 'strided array: stat ', stat, ' ', trim(errmsg)
  call hfc_onnx_run(model, [hfc_tensor(c, [1, 1, ny, nx])], [hfc_tensor(fx)], stat, errmsg)
  write(output_unit, '(a, i0, a, a)') 'count mismatch: stat ', stat, ' ', trim(errmsg)

  if (command_argument_count() >= 3) then
    call get_command_argument(3, path)
    call wider_halos(path)
  end if

contains

  !> The learned provider reads the model's halo next to the interior, whatever the block's.
  subroutine wider_halos(file)
    character(len=*), intent(in) :: file
    type(hfc_equation_t) :: eq
    type(hfc_learned_flux) :: learned
    type(hfc_grid_t) :: global, narrow, wide
    type(hfc_coupler_t) :: coupler
    type(hfc_aux_t) :: none(0)
    integer, parameter :: n = 64
    real(wp) :: u(n + 18), a(n + 1), b(n + 1), d(n + 1), dx
    integer :: k
    dx = 6.283185307179586_wp / n
    call hfc_onnx_load(burgers, file, config, stat, errmsg)
    call hfc_equation_init(eq, 'burgers', 0.01_wp, 0.0_wp, stat, errmsg)
    call hfc_learned_init(learned, burgers, eq, stat, errmsg)
    if (stat /= HFC_OK) error stop 'learned: ' // trim(errmsg)
    call hfc_grid_init_spacing(global, n, dx, stat, errmsg)
    call hfc_grid_block(global, n, 0, 7, narrow, stat, errmsg)
    call hfc_grid_block(global, n, 0, 9, wide, stat, errmsg)
    u(10:n + 9) = [(sin(dx * (k - 0.5_wp)) + 0.3_wp * cos(3 * dx * k), k = 1, n)]
    u(1:9) = u(n + 1:n + 9)
    u(n + 10:n + 18) = u(10:18)
    call learned%face_fluxes(narrow, u(3:n + 16), none, 0.0_wp, 0.0_wp, a, stat, errmsg)
    if (stat /= HFC_OK) error stop 'narrow: ' // trim(errmsg)
    call learned%face_fluxes(wide, u, none, 0.0_wp, 0.0_wp, b, stat, errmsg)
    if (stat /= HFC_OK) error stop 'wide: ' // trim(errmsg)
    call hfc_coupler_create(coupler, n, dx, learned, stat, errmsg)
    call hfc_coupler_face_fluxes(coupler, u, 0.0_wp, d, stat, errmsg, ghosts=9)
    if (stat /= HFC_OK) error stop 'coupler: ' // trim(errmsg)
    if (any(a /= b) .or. any(a /= d)) error stop 'learned provider: a wider halo changed the fluxes'
    call learned%face_fluxes(narrow, u, none, 0.0_wp, 0.0_wp, a, stat, errmsg)
    write(output_unit, '(a, i0, a, a)') 'learned wider halos ok; a longer state: stat ', stat, ' ', trim(errmsg)
  end subroutine wider_halos

end program check_onnx
