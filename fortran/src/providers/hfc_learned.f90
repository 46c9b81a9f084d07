!> The learned flux provider of the Fortran host: face fluxes from an exported ONNX model
!> run by ONNX Runtime in this process (module hfc_onnx), no Python involved.
!>   1D: one input u [batch, 1, n + 2g] of cell averages with g halo cells, the output
!>       flux [batch, 1, n + 1] (and, for a network model, its stencils: below).
!>   2D (advection, training/advection_model.py): inputs c, u, v [1, 1, ny + 2g, nx + 2g]
!>       (the state and the face velocities of the host's aux fields 'u', 'v', the lower
!>       faces of every cell) and c_range [1, 2] (the host's aux 'c_range': the state's
!>       minimum and maximum over all ranks); outputs flux_x [1, 1, ny, nx + 1] and flux_y
!>       [1, 1, ny + 1, nx], which are the host's face layout, so the model writes them in
!>       place.
!>
!> The provider keeps a pointer to the caller's model, which must outlive it; a model
!> object freed or loaded again since the provider was made is refused (the provider keeps
!> the load's serial number), never silently used. On a block with a wider halo than the
!> model's g it hands the model the g cells next to the interior (1D: an offset, no copy;
!> 2D: a copy of that window): every block with halo >= g gives the same fluxes.
!>
!> Coefficient reuse (1D, opt-in: hfc_learned_init's `reuse`): a model exported with its
!> stencils (a second output 'stencils' [batch, groups * s, n + 1]: per face, the s-cell
!> stencils of the network's last layer with every fixed linear map folded in, and the
!> metadata 'stencils_form' saying how the flux follows from the stencils' values q_i,
!> training/models.py LeanFluxModel) runs the network once per time step: at the step's
!> first stage (between the host's begin_step and end_step) it returns the flux and keeps
!> the stencils; the later stages apply them to their own states natively. One network call
!> per step instead of one per stage, at an accuracy cost measured by `hfc bench --front`.
!> Only a time loop that brackets its steps (hfc_stepper, so the host) engages it: a call
!> outside begin_step/end_step (the own-loop coupler hfc_coupler, face_fluxes from Python)
!> runs the network as without reuse.
module hfc_learned
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_NONFINITE, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t
  use hfc_equation, only: hfc_equation_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t, hfc_find_aux
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_run, hfc_onnx_loaded, hfc_tensor, hfc_tensor_t, hfc_onnx_metadata
  use hfc_model_meta, only: hfc_model_meta_t, hfc_meta_read, hfc_meta_check_equation, hfc_meta_check_grid
  use hfc_riemann, only: godunov_square
  implicit none
  private

  !> The flux from the stencils' values q_1, q_2, ... (metadata 'stencils_form'):
  !> q_1 ('linear'), q_1^2 + q_2 ('square'), -q_1^2 + q_2 ('negative-square'),
  !> G(q_1, q_2) + q_3 with G the exact Godunov flux of v^2 ('godunov').
  character(len=*), parameter :: FORMS(4) = [character(len=15) :: 'linear', 'square', 'negative-square', 'godunov']
  integer, parameter :: FORM_GROUPS(4) = [1, 2, 2, 3]

  !> The learned provider of a loaded 1D model; make it with hfc_learned_init.
  type, extends(hfc_flux_provider), public :: hfc_learned_flux
    type(hfc_onnx_model_t), pointer :: model => null()
    integer(int64) :: serial = 0            !< the model's load this provider was made for
    type(hfc_model_meta_t) :: meta
    real(wp), allocatable :: window(:, :)   !< 2D: c, u, v of the model's halo when the block's is wider
    logical :: reuse = .false.              !< coefficient reuse across the stages of a step
    integer :: form = 0                     !< reuse: index in FORMS
    integer :: groups = 0                   !< reuse: stencils per face (FORM_GROUPS of the form)
    integer :: width = 0                    !< reuse: cells per stencil
    logical :: in_step = .false.            !< between begin_step and end_step
    logical :: cached = .false.             !< stencils holds this step's
    real(wp), allocatable :: stencils(:)    !< reuse: [1, groups * width, n + 1] of the step's first stage
    real(wp), allocatable :: q(:, :)        !< reuse: the stencils' values at each face
  contains
    procedure :: compute => learned_compute
    procedure :: halo_width => learned_halo_width
    procedure :: name => learned_name
    procedure :: check_grid => learned_check_grid
    procedure :: needs_range => learned_needs_range
    procedure :: begin_step => learned_begin_step
    procedure :: end_step => learned_end_step
  end type hfc_learned_flux

  public :: hfc_learned_init, hfc_learned_batch

contains

  !> Bind a loaded model to a host solving eq, after checking its metadata against the
  !> graph (names, dtype, halo), its signature (1D: one rank-3 input, the output 'flux' of
  !> rank 3 and optionally 'stencils'; 2D: c, u, v, c_range -> flux_x, flux_y, in that
  !> order), and that it was trained for this equation and viscosity. The grid (dimensions,
  !> dx) is checked when a host or coupler is created with the provider (check_grid).
  !> `reuse` (default .false.): coefficient reuse across the stages of a step (module
  !> header); the model must have its stencils.
  subroutine hfc_learned_init(p, model, eq, stat, errmsg, reuse)
    type(hfc_learned_flux), intent(out) :: p
    type(hfc_onnx_model_t), intent(in), target :: model
    type(hfc_equation_t), intent(in) :: eq
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    logical, intent(in), optional :: reuse

    call hfc_clear(stat, errmsg)
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: no model loaded')
      return
    end if
    call hfc_meta_read(model, p%meta, stat, errmsg)
    if (stat /= HFC_OK) return
    if (p%meta%space_dimensions == 2) then
      call check_signature_2d(model, p%meta, stat, errmsg)
      if (stat /= HFC_OK) return
    else if (size(model%inputs) /= 1 .or. size(model%outputs) < 1 .or. size(model%outputs) > 2) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: a 1D model has one input and one ' // &
        'output (and its stencils), this one ' // hfc_str(size(model%inputs)) // ' and ' // hfc_str(size(model%outputs)))
      return
    else if (model%inputs(1)%rank /= 3 .or. model%outputs(1)%rank /= 3) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: expected input and output of rank 3 ' // &
        '([batch, 1, cells]), found ' // hfc_str(model%inputs(1)%rank) // ' and ' // hfc_str(model%outputs(1)%rank))
      return
    else if (size(model%outputs) == 2) then
      if (model%outputs(2)%name /= 'stencils') then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "learned provider: a 1D model's second output must be " // &
          "'stencils', this one is '" // trim(model%outputs(2)%name) // "'")
        return
      end if
    end if
    call hfc_meta_check_equation(p%meta, eq, stat, errmsg)
    if (stat /= HFC_OK) then
      errmsg = 'learned provider: ' // errmsg
      return
    end if
    if (present(reuse)) p%reuse = reuse
    if (p%reuse) call reuse_init(p, model, stat, errmsg)
    if (stat /= HFC_OK) return
    p%model => model
    p%serial = model%serial
  end subroutine hfc_learned_init

  !> The stencils output and its form, for coefficient reuse.
  subroutine reuse_init(p, model, stat, errmsg)
    type(hfc_learned_flux), intent(inout) :: p
    type(hfc_onnx_model_t), intent(in) :: model
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=64) :: form
    integer :: k, channels

    call hfc_clear(stat, errmsg)
    if (p%meta%space_dimensions /= 1 .or. size(model%outputs) /= 2) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: coefficient reuse needs a 1D network ' // &
        'model exported with its stencils (a second output ''stencils'': export it again with `hfc export`); this ' // &
        'one has none')
      return
    end if
    call hfc_onnx_metadata(model, 'stencils_form', form, stat, errmsg)
    if (stat /= HFC_OK) return
    p%form = 0
    do k = 1, size(FORMS)
      if (form == FORMS(k)) p%form = k
    end do
    if (p%form == 0 .or. model%outputs(2)%rank /= 3) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "learned provider: the stencils must be of rank 3 and " // &
        "the metadata stencils_form one of linear, square, negative-square, godunov; found rank " // &
        hfc_str(model%outputs(2)%rank) // " and '" // trim(form) // "'")
      return
    end if
    channels = int(model%outputs(2)%dims(2))
    p%groups = FORM_GROUPS(p%form)
    p%width = channels / p%groups
    if (channels < 2 .or. mod(channels, p%groups) /= 0 .or. mod(p%width, 2) /= 0 .or. p%width > 2 * p%meta%halo) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: the stencils output has ' // &
        hfc_str(channels) // ' channels, not ' // hfc_str(p%groups) // ' stencils of an even width <= 2 halo')
    end if
  end subroutine reuse_init

  !> The stages of a step begin: the first computes (and, reusing, keeps) the stencils.
  subroutine learned_begin_step(self)
    class(hfc_learned_flux), intent(inout) :: self
    self%in_step = .true.
    self%cached = .false.
  end subroutine learned_begin_step

  subroutine learned_end_step(self)
    class(hfc_learned_flux), intent(inout) :: self
    self%in_step = .false.
    self%cached = .false.
  end subroutine learned_end_step

  !> A 2D model: inputs c, u, v of rank 4 and c_range of rank 2, outputs flux_x, flux_y of
  !> rank 4, named so and in that order (compute_2d passes them by position).
  subroutine check_signature_2d(model, meta, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    type(hfc_model_meta_t), intent(in) :: meta
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: k
    logical :: ok
    call hfc_clear(stat, errmsg)
    ok = size(model%inputs) == 4 .and. size(model%outputs) == 2 .and. meta%input_names == 'c,u,v,c_range' .and. &
         meta%output_names == 'flux_x,flux_y'
    if (ok) ok = all([(model%inputs(k)%rank, k = 1, 4)] == [4, 4, 4, 2]) .and. &
                 all([(model%outputs(k)%rank, k = 1, 2)] == [4, 4])
    if (.not. ok) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: a 2D model has inputs ' // &
      'c, u, v [batch, 1, rows, cells] and c_range [batch, 2], and outputs flux_x, flux_y [batch, 1, rows, faces]')
  end subroutine check_signature_2d

  !> 2D models normalise with the state's range over the whole domain.
  pure logical function learned_needs_range(self)
    class(hfc_learned_flux), intent(in) :: self
    learned_needs_range = self%meta%space_dimensions == 2
  end function learned_needs_range

  !> The provider's model is still the one it was made for.
  logical function bound(self, stat, errmsg)
    class(hfc_learned_flux), intent(in) :: self
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    bound = associated(self%model)
    if (bound) bound = self%model%serial == self%serial .and. self%serial > 0
    if (.not. bound) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: not initialised, ' // &
      'or its model was freed or loaded again since (make the provider anew with hfc_learned_init)')
  end function bound

  subroutine learned_check_grid(self, grid, stat, errmsg)
    class(hfc_learned_flux), intent(in) :: self
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. bound(self, stat, errmsg)) return
    call hfc_meta_check_grid(self%meta, grid, stat, errmsg)
    if (stat /= HFC_OK) errmsg = 'learned provider: ' // errmsg
  end subroutine learned_check_grid

  pure integer function learned_halo_width(self) result(g)
    class(hfc_learned_flux), intent(in) :: self
    g = self%meta%halo
  end function learned_halo_width

  pure function learned_name(self) result(text)
    class(hfc_learned_flux), intent(in) :: self
    character(len=:), allocatable :: text
    text = 'learned provider'
  end function learned_name

  subroutine learned_compute(self, grid, u, aux, t, dt, flux, stat, errmsg)
    class(hfc_learned_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), pointer, contiguous :: u2(:, :), flux2(:, :)
    integer :: n, g, first

    if (.not. bound(self, stat, errmsg)) return
    if (grid%ndim == 2) then
      call compute_2d(self, grid, u, aux, flux, stat, errmsg)
      return
    end if
    n = grid%n(1)
    g = self%meta%halo
    first = grid%g - g          ! cells the block's halo holds beyond the model's
    u2(1:n + 2 * g, 1:1) => u(first + 1:first + n + 2 * g)
    flux2(1:n + 1, 1:1) => flux
    if (.not. (self%reuse .and. self%in_step)) then
      call run_batch(self%model, g, u2, flux2, stat, errmsg)   ! face_fluxes checks the result
    else if (self%cached) then
      call stencil_fluxes(self, u2(:, 1), flux)
    else
      if (allocated(self%q)) then
        if (size(self%q, 1) /= n + 1) deallocate(self%stencils, self%q)
      end if
      if (.not. allocated(self%q)) allocate(self%stencils((n + 1) * self%groups * self%width), &
                                            self%q(n + 1, self%groups))
      call run_with_stencils(self%model, u2(:, 1), flux, self%stencils, self%groups * self%width, stat, errmsg)
      self%cached = stat == HFC_OK
    end if
  end subroutine learned_compute

  !> One run of a 1D model for the fluxes and the stencils (channels per face) of u; the
  !> arrays are `target` dummies here, so the tensors' addresses stay valid for the run.
  subroutine run_with_stencils(model, u, flux, stencils, channels, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    real(wp), intent(in), contiguous, target :: u(:)
    real(wp), intent(inout), contiguous, target :: flux(:), stencils(:)
    integer, intent(in) :: channels
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_onnx_run(model, [hfc_tensor(u, [1, 1, size(u)])], [hfc_tensor(flux, [1, 1, size(flux)]), &
                      hfc_tensor(stencils, [1, channels, size(flux)])], stat, errmsg)
  end subroutine run_with_stencils

  !> Reuse: the fluxes of the model's window u (n + 2g cells) from the step's stencils:
  !> q_i at face k is the i-th stencil of face k applied to its cells k - s/2 .. k + s/2 - 1,
  !> then the form (FORMS) makes the flux, as LeanFluxModel.forward does.
  subroutine stencil_fluxes(self, u, flux)
    class(hfc_learned_flux), intent(inout) :: self
    real(wp), intent(in) :: u(:)
    real(wp), intent(out) :: flux(:)
    integer :: faces, s, offset, i, j
    faces = size(flux)
    s = self%width
    offset = self%meta%halo - s / 2          ! cell c of the interior is u(g + c)
    do i = 1, self%groups
      self%q(:, i) = 0.0_wp
      do j = 1, s
        self%q(:, i) = self%q(:, i) + self%stencils(((i - 1) * s + j - 1) * faces + 1:((i - 1) * s + j) * faces) * &
                       u(offset + j:offset + j + faces - 1)
      end do
    end do
    select case (self%form)
    case (1)
      flux = self%q(:, 1)
    case (2)
      flux = self%q(:, 1) * self%q(:, 1) + self%q(:, 2)
    case (3)
      flux = -(self%q(:, 1) * self%q(:, 1)) + self%q(:, 2)
    case default
      flux = godunov_square(self%q(:, 1), self%q(:, 2), 1.0_wp) + self%q(:, 3)
    end select
  end subroutine stencil_fluxes

  !> The 2D run: the block's state and face velocities (or the window of the model's halo
  !> within them) and the global range in, the x- and y-face fluxes out, in place.
  subroutine compute_2d(self, grid, u, aux, flux, stat, errmsg)
    class(hfc_learned_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: nx, ny, g, big, m, k, j, ku, kv, kr, fields(3)
    real(wp), target :: range(2)

    call hfc_clear(stat, errmsg)
    nx = grid%n(1)
    ny = grid%n(2)
    g = self%meta%halo
    big = grid%g
    ku = hfc_find_aux(aux, 'u')
    kv = hfc_find_aux(aux, 'v')
    kr = hfc_find_aux(aux, 'c_range')
    if (ku == 0 .or. kv == 0 .or. kr == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: a 2D model needs the host''s face ' // &
        'velocities u, v and the range c_range (a host with a flow: hfc_host_set_flow)')
      return
    end if
    if (size(aux(ku)%values) /= size(u) .or. size(aux(kv)%values) /= size(u) .or. size(aux(kr)%values) < 2) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: the face velocities must have the ' // &
        'layout of the state (lower faces with halo) and c_range two values')
      return
    end if
    range = aux(kr)%values(1:2)
    m = (nx + 2 * g) * (ny + 2 * g)
    if (big == g) then
      call run([hfc_tensor(u, [1, 1, ny + 2 * g, nx + 2 * g]), hfc_tensor(aux(ku)%values, [1, 1, ny + 2 * g, nx + 2 * g]), &
                hfc_tensor(aux(kv)%values, [1, 1, ny + 2 * g, nx + 2 * g]), hfc_tensor(range, [1, 2])])
      return
    end if
    if (.not. allocated(self%window)) allocate(self%window(m, 3))
    if (size(self%window, 1) /= m) then
      deallocate(self%window)
      allocate(self%window(m, 3))
    end if
    fields = [0, ku, kv]
    do k = 1, 3
      do j = 1, ny + 2 * g                ! row j of the window is row j + big - g of the block
        if (k == 1) then
          self%window((j - 1) * (nx + 2 * g) + 1:j * (nx + 2 * g), k) = &
            u((j + big - g - 1) * (nx + 2 * big) + big - g + 1:(j + big - g - 1) * (nx + 2 * big) + big + g + nx)
        else
          self%window((j - 1) * (nx + 2 * g) + 1:j * (nx + 2 * g), k) = aux(fields(k))%values( &
            (j + big - g - 1) * (nx + 2 * big) + big - g + 1:(j + big - g - 1) * (nx + 2 * big) + big + g + nx)
        end if
      end do
    end do
    call run([hfc_tensor(self%window(:, 1), [1, 1, ny + 2 * g, nx + 2 * g]), &
              hfc_tensor(self%window(:, 2), [1, 1, ny + 2 * g, nx + 2 * g]), &
              hfc_tensor(self%window(:, 3), [1, 1, ny + 2 * g, nx + 2 * g]), hfc_tensor(range, [1, 2])])

  contains

    subroutine run(inputs)
      type(hfc_tensor_t), intent(in) :: inputs(:)
      call hfc_onnx_run(self%model, inputs, [hfc_tensor(flux(1:(nx + 1) * ny), [1, 1, ny, nx + 1]), &
                        hfc_tensor(flux((nx + 1) * ny + 1:), [1, 1, ny + 1, nx])], stat, errmsg)
    end subroutine run
  end subroutine compute_2d

  !> Face fluxes flux(n + 1, nbatch) of halo-filled states u(n + 2g, nbatch) in one run of
  !> the model (g its halo): the tensors [nbatch, 1, n + 2g] and [nbatch, 1, n + 1].
  !> Non-finite fluxes fail with HFC_ERR_NONFINITE (the fluxes are returned as computed).
  subroutine hfc_learned_batch(model, g, u, flux, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    integer, intent(in) :: g
    real(wp), intent(in), contiguous, target :: u(:, :)
    real(wp), intent(inout), contiguous, target :: flux(:, :)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call run_batch(model, g, u, flux, stat, errmsg)
    if (stat == HFC_OK .and. .not. all(abs(flux) <= huge(1.0_wp))) call hfc_set_error(stat, errmsg, &
      HFC_ERR_NONFINITE, 'learned provider returned non-finite fluxes')
  end subroutine hfc_learned_batch

  !> hfc_learned_batch without the finiteness check.
  subroutine run_batch(model, g, u, flux, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    integer, intent(in) :: g
    real(wp), intent(in), contiguous, target :: u(:, :)
    real(wp), intent(inout), contiguous, target :: flux(:, :)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: cells, faces, batch

    call hfc_clear(stat, errmsg)
    cells = size(u, 1)
    faces = size(flux, 1)
    batch = size(u, 2)
    if (faces /= cells - 2 * g + 1 .or. faces < 2 .or. size(flux, 2) /= batch) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: need u(n + 2g, nbatch) and ' // &
        'flux(n + 1, nbatch) with n >= 1 and g = ' // hfc_str(g) // '; got u(' // hfc_str(cells) // ', ' // &
        hfc_str(batch) // ') and flux(' // hfc_str(faces) // ', ' // hfc_str(size(flux, 2)) // ')')
      return
    end if
    call hfc_onnx_run(model, [hfc_tensor(u, [batch, 1, cells])], [hfc_tensor(flux, [batch, 1, faces])], stat, errmsg)
  end subroutine run_batch

end module hfc_learned
