// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html),
// in the macro style of Abseil and LevelDB. With clang and -Wthread-safety the compiler
// checks them: a GUARDED_BY member touched without its mutex, a REQUIRES function called
// without it, a lock not released, are build errors (scripts/test builds with
// -Werror=thread-safety). With other compilers they expand to nothing.
#pragma once

#if defined(__clang__)
#define JOBGATE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define JOBGATE_THREAD_ANNOTATION(x)
#endif

// On a class: objects of it are capabilities (a mutex).
#define CAPABILITY(x) JOBGATE_THREAD_ANNOTATION(capability(x))
// On a class: an RAII object that holds a capability for its lifetime.
#define SCOPED_CAPABILITY JOBGATE_THREAD_ANNOTATION(scoped_lockable)
// On a member: read or written only with `x` held.
#define GUARDED_BY(x) JOBGATE_THREAD_ANNOTATION(guarded_by(x))
// On a pointer member: what it points to is read or written only with `x` held.
#define PT_GUARDED_BY(x) JOBGATE_THREAD_ANNOTATION(pt_guarded_by(x))
// On a function: callers must hold the capabilities.
#define REQUIRES(...) JOBGATE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// On a function: callers must not hold the capabilities (it takes them).
#define EXCLUDES(...) JOBGATE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// On a function: it takes / releases the capabilities.
#define ACQUIRE(...) JOBGATE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) JOBGATE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) JOBGATE_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// On a function: it returns a reference to the capability.
#define RETURN_CAPABILITY(x) JOBGATE_THREAD_ANNOTATION(lock_returned(x))
// On a function: not checked (say why where used).
#define NO_THREAD_SAFETY_ANALYSIS JOBGATE_THREAD_ANNOTATION(no_thread_safety_analysis)
