!> The source-term interface: S in v_t + J_x = S. A source is bound once to the block it
!> acts on (tabulation, workspace) and then adds its cell averages S(t) to a tendency.
!> Sources are not fluxes: the host adds them after the flux divergence.
module hfc_source
  use hfc_kinds, only: wp
  use hfc_grid, only: hfc_grid_t
  implicit none
  private

  !> A source term: bound once to a block, then added to the tendency at each stage.
  type, abstract, public :: hfc_source_t
  contains
    procedure(bind_iface), deferred :: bind
    procedure(add_iface), deferred :: add
  end type hfc_source_t

  abstract interface
    !> Prepare the source for this block (called once, when the source joins a host).
    subroutine bind_iface(self, grid, stat, errmsg)
      import :: hfc_source_t, hfc_grid_t
      class(hfc_source_t), intent(inout) :: self
      type(hfc_grid_t), intent(in) :: grid
      integer, intent(out) :: stat
      character(len=*), intent(inout) :: errmsg
    end subroutine bind_iface

    !> dudt = dudt + S(t) on the interior cells; dudt is a cell field with halo (grid layout).
    subroutine add_iface(self, grid, t, dudt)
      import :: hfc_source_t, hfc_grid_t, wp
      class(hfc_source_t), intent(inout) :: self
      type(hfc_grid_t), intent(in) :: grid
      real(wp), intent(in) :: t
      real(wp), intent(inout) :: dudt(:)
    end subroutine add_iface
  end interface

end module hfc_source
