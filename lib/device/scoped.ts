/**
 * A device state entered for the length of one step and always left again (a KMU slot selected,
 * the debugger switched to the network core). Leaving runs even when the step failed, and a
 * failure to leave is thrown only when the step itself succeeded: the step's own error is the one
 * an operator needs, and it must not be hidden by the clean-up that followed it.
 */
export async function scoped<T>(enter: () => Promise<void>, body: () => Promise<T>, leave: () => Promise<void>): Promise<T> {
  await enter();
  let failed = false;
  try {
    return await body();
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    try {
      await leave();
    } catch (leaveError) {
      if (!failed) throw leaveError;
    }
  }
}
